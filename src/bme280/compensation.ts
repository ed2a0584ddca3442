// Floating-point compensation of the BME280 datasheet (sections 4.2.3 and 8.1) with the
// clamps of Bosch's reference driver and t_fine truncated toward zero, as its C cast to
// int32 does. For humidity the datasheet is followed where that driver's double variant
// departs from it: the driver multiplies by (1 + H3 / 2^26 * dt) a second time, which
// neither the datasheet nor Bosch's own integer variant does. Most parts have H3 = 0,
// where the two agree.

import type {
  Calibration, HumidityCalibration, PressureCalibration, TemperatureCalibration,
} from './calibration';

export const TEMPERATURE_RANGE = { min: -40, max: 85 } as const;
/** Pa; Bosch also returns the lower bound when the divisor would be zero. */
export const PRESSURE_RANGE = { min: 30000, max: 110000 } as const;
export const HUMIDITY_RANGE = { min: 0, max: 100 } as const;

function clamp(value: number, range: { min: number; max: number }): number {
  return Math.min(range.max, Math.max(range.min, value));
}

export interface Temperature {
  /** degC, clamped. */
  celsius: number;
  /** Fine temperature shared with pressure and humidity, an integer. */
  tFine: number;
  /** degC before the clamp, for the simulated sensor that inverts this formula. */
  unclamped: number;
}

export function compensateTemperature(adcT: number, cal: TemperatureCalibration): Temperature {
  const coarse = (adcT / 16384 - cal.T1 / 1024) * cal.T2;
  const offset = adcT / 131072 - cal.T1 / 8192;
  const fine = coarse + offset * offset * cal.T3;
  const unclamped = fine / 5120;
  return { celsius: clamp(unclamped, TEMPERATURE_RANGE), tFine: Math.trunc(fine), unclamped };
}

/** Pa before the clamp, or null where Bosch's divisor would be zero or negative. */
export function pressureUnclamped(
  adcP: number, tFine: number, cal: PressureCalibration,
): number | null {
  let var1 = tFine / 2 - 64000;
  let var2 = (var1 * var1 * cal.P6) / 32768;
  var2 += var1 * cal.P5 * 2;
  var2 = var2 / 4 + cal.P4 * 65536;
  const var3 = (cal.P3 * var1 * var1) / 524288;
  var1 = (var3 + cal.P2 * var1) / 524288;
  var1 = (1 + var1 / 32768) * cal.P1;
  if (!(var1 > 0)) return null;

  let pressure = 1048576 - adcP;
  pressure = ((pressure - var2 / 4096) * 6250) / var1;
  const quadratic = (cal.P9 * pressure * pressure) / 2147483648;
  const linear = (pressure * cal.P8) / 32768;
  return pressure + (quadratic + linear + cal.P7) / 16;
}

/** Pa, clamped to [30000, 110000]. */
export function compensatePressure(adcP: number, tFine: number, cal: PressureCalibration): number {
  const pressure = pressureUnclamped(adcP, tFine, cal);
  return pressure === null ? PRESSURE_RANGE.min : clamp(pressure, PRESSURE_RANGE);
}

/** %RH before the clamp. */
export function humidityUnclamped(adcH: number, tFine: number, cal: HumidityCalibration): number {
  const dt = tFine - 76800;
  const offset = adcH - (cal.H4 * 64 + (cal.H5 / 16384) * dt);
  const gain = cal.H2 / 65536;
  const curve = 1 + (cal.H3 / 67108864) * dt;
  const tilt = 1 + (cal.H6 / 67108864) * dt * curve;
  const linear = offset * gain * tilt;
  return linear * (1 - (cal.H1 * linear) / 524288);
}

/** %RH, clamped to [0, 100]. */
export function compensateHumidity(adcH: number, tFine: number, cal: HumidityCalibration): number {
  return clamp(humidityUnclamped(adcH, tFine, cal), HUMIDITY_RANGE);
}

export interface RawSample {
  adcT: number;
  adcP: number;
  /** null when the chip has no humidity registers. */
  adcH: number | null;
}

export interface Reading {
  /** degC */
  temperature: number | null;
  /** %RH */
  humidity: number | null;
  /** hPa */
  pressure: number | null;
}

export interface EnabledChannels {
  temperature: boolean;
  pressure: boolean;
  humidity: boolean;
}

/**
 * Compensates one burst. A channel that was switched off yields null rather than a
 * number computed from its skip marker. Pressure and humidity need t_fine, so they
 * are null too when temperature was off.
 */
export function compensate(raw: RawSample, cal: Calibration, on: EnabledChannels): Reading {
  if (!on.temperature) return { temperature: null, humidity: null, pressure: null };
  const t = compensateTemperature(raw.adcT, cal);
  const pressure = on.pressure ? compensatePressure(raw.adcP, t.tFine, cal) / 100 : null;
  const humidity = on.humidity && cal.humidity !== null && raw.adcH !== null
    ? compensateHumidity(raw.adcH, t.tFine, cal.humidity)
    : null;
  return { temperature: t.celsius, humidity, pressure };
}
