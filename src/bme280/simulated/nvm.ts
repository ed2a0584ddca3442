// Calibration sets for the simulated sensor and their byte image in the chip's NVM,
// laid out as the datasheet's table 16 describes (the inverse of ../calibration.ts).

import type { Calibration, HumidityCalibration } from '../calibration';

/** Temperature and pressure from the datasheet's worked example; humidity from a
 *  typical part, all positive. */
export const DATASHEET_EXAMPLE: Calibration = {
  T1: 27504, T2: 26435, T3: -1000,
  P1: 36477, P2: -10685, P3: 3024, P4: 2855, P5: 140, P6: -7, P7: 15500, P8: -14600,
  P9: 6000,
  humidity: { H1: 75, H2: 362, H3: 0, H4: 313, H5: 50, H6: 30 },
};

/** Negative H4, H5 and H6 and an H1 and H3 above 127: a part on which sign or
 *  packing mistakes give wrong humidity. */
export const NEGATIVE_HUMIDITY: Calibration = {
  ...DATASHEET_EXAMPLE,
  T1: 28145, T2: 26681, T3: 50,
  humidity: { H1: 200, H2: 150, H3: 200, H4: -100, H5: -50, H6: -30 },
};

/** A negative H2 too: the sensor's output falls as humidity rises. */
export const NEGATIVE_H2: Calibration = {
  ...DATASHEET_EXAMPLE,
  humidity: { H1: 160, H2: -200, H3: 150, H4: 1000, H5: -20, H6: -60 },
};

export interface NvmImage {
  /** 26 bytes at 0x88..0xA1 */
  tp: Uint8Array;
  /** 7 bytes at 0xE1..0xE7 */
  h: Uint8Array;
}

export function encodeCalibration(cal: Calibration): NvmImage {
  const tp = new Uint8Array(26);
  const words = [cal.T1, cal.T2, cal.T3, cal.P1, cal.P2, cal.P3, cal.P4, cal.P5, cal.P6,
    cal.P7, cal.P8, cal.P9];
  words.forEach((word, i) => {
    tp[2 * i] = word & 0xff;
    tp[2 * i + 1] = (word >> 8) & 0xff;
  });
  const h = new Uint8Array(7);
  const hum: HumidityCalibration | null = cal.humidity;
  if (hum !== null) {
    tp[25] = hum.H1 & 0xff;
    h[0] = hum.H2 & 0xff;
    h[1] = (hum.H2 >> 8) & 0xff;
    h[2] = hum.H3 & 0xff;
    // Two 12-bit values share 0xE5: H4's low nibble below, H5's above.
    h[3] = (hum.H4 >> 4) & 0xff;
    h[4] = (hum.H4 & 0x0f) | ((hum.H5 & 0x0f) << 4);
    h[5] = (hum.H5 >> 4) & 0xff;
    h[6] = hum.H6 & 0xff;
  }
  return { tp, h };
}
