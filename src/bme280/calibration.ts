// Trimming coefficients from the chip's NVM (datasheet section 4.2.2, table 16). The
// signs and the 12-bit packing of dig_H4/dig_H5 are where drivers usually go wrong:
// the error only shows on chips whose humidity coefficients happen to be negative.

import { CALIB_H_LENGTH, CALIB_TP_LENGTH } from './registers';

export interface TemperatureCalibration {
  T1: number; T2: number; T3: number;
}

export interface PressureCalibration {
  P1: number; P2: number; P3: number; P4: number; P5: number;
  P6: number; P7: number; P8: number; P9: number;
}

export interface HumidityCalibration {
  H1: number; H2: number; H3: number; H4: number; H5: number; H6: number;
}

export interface Calibration extends TemperatureCalibration, PressureCalibration {
  /** null on a BMP280, which has no humidity sensor. */
  humidity: HumidityCalibration | null;
}

/** Two's complement of the low `bits` bits of `value`. */
function signed(value: number, bits: number): number {
  const sign = 1 << (bits - 1);
  return (value & (sign - 1)) - (value & sign);
}

/**
 * Parses the 26 bytes read from 0x88 and, for a BME280, the 7 bytes read from 0xE1.
 * Both blocks are little-endian.
 */
export function parseCalibration(tp: Uint8Array, h: Uint8Array | null): Calibration {
  if (tp.length < CALIB_TP_LENGTH - 2) {
    throw new RangeError(`calibration block 0x88 is ${tp.length} bytes, expected 26`);
  }
  const u16 = (i: number): number => (tp[i] ?? 0) | ((tp[i + 1] ?? 0) << 8);
  const s16 = (i: number): number => signed(u16(i), 16);

  return {
    T1: u16(0), T2: s16(2), T3: s16(4),
    P1: u16(6), P2: s16(8), P3: s16(10), P4: s16(12), P5: s16(14),
    P6: s16(16), P7: s16(18), P8: s16(20), P9: s16(22),
    humidity: h === null ? null : parseHumidity(tp[25] ?? 0, h),
  };
}

function parseHumidity(h1: number, h: Uint8Array): HumidityCalibration {
  if (h.length < CALIB_H_LENGTH) {
    throw new RangeError(`calibration block 0xE1 is ${h.length} bytes, expected 7`);
  }
  const at = (i: number): number => h[i] ?? 0;

  // 0xE4 and 0xE6 carry the signed upper 8 bits of two 12-bit values whose lower
  // nibbles share 0xE5: dig_H4 takes its low nibble, dig_H5 its high nibble.
  const e4 = signed(at(3), 8);
  const e5 = at(4);
  const e6 = signed(at(5), 8);

  return {
    H1: h1,
    H2: signed(at(0) | (at(1) << 8), 16),
    H3: at(2),
    H4: e4 * 16 + (e5 & 0x0f),
    H5: e6 * 16 + (e5 >> 4),
    H6: signed(at(6), 8),
  };
}
