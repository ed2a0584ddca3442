// Register map, bit fields and timing of the BME280 and its humidity-less sibling, the
// BMP280, as given in the BME280 datasheet (sections 5.3, 5.4 and 9.1).

export const REG = {
  calibTp: 0x88,
  chipId: 0xd0,
  reset: 0xe0,
  calibH: 0xe1,
  ctrlHum: 0xf2,
  status: 0xf3,
  ctrlMeas: 0xf4,
  config: 0xf5,
  data: 0xf7,
} as const;

/** 0x88..0xA1: T and P coefficients, the reserved byte 0xA0, then dig_H1 at 0xA1. */
export const CALIB_TP_LENGTH = 26;
/** 0xE1..0xE7: dig_H2..dig_H6. */
export const CALIB_H_LENGTH = 7;
/** 0xF7..0xFE: press, temp (3 bytes each), hum (2 bytes). */
export const DATA_LENGTH = 8;
/** The BMP280 has no humidity registers, so its data block ends at 0xFC. */
export const DATA_LENGTH_NO_HUMIDITY = 6;

export const SOFT_RESET_COMMAND = 0xb6;

export const STATUS_MEASURING = 0x08;
export const STATUS_IM_UPDATE = 0x01;

export const MODE_SLEEP = 0b00;
export const MODE_FORCED = 0b01;
export const MODE_NORMAL = 0b11;

export const CHIP_ID_BME280 = 0x60;
/** 0x56 and 0x57 are the BMP280 samples, 0x58 the production part. */
export const CHIP_IDS_BMP280: readonly number[] = [0x56, 0x57, 0x58];

export type ChipModel = 'BME280' | 'BMP280';

export function chipModel(chipId: number): ChipModel | null {
  if (chipId === CHIP_ID_BME280) return 'BME280';
  return CHIP_IDS_BMP280.includes(chipId) ? 'BMP280' : null;
}

/** Readings come from the ADC as 20-bit (T, P) or 16-bit (H) values; a skipped
 *  channel keeps these reset values, which compensate to plausible nonsense. */
export const SKIPPED_TP = 0x80000;
export const SKIPPED_H = 0x8000;

export const ADDRESSES: readonly number[] = [0x76, 0x77];

/** Oversampling factor; 0 switches the channel off. */
export type Oversampling = 0 | 1 | 2 | 4 | 8 | 16;
export const OVERSAMPLINGS: readonly Oversampling[] = [0, 1, 2, 4, 8, 16];

/** IIR filter coefficient; 0 is off. */
export type FilterCoefficient = 0 | 2 | 4 | 8 | 16;
export const FILTER_COEFFICIENTS: readonly FilterCoefficient[] = [0, 2, 4, 8, 16];

/** Register code of an oversampling factor: 0 skip, 1..5 for x1..x16. */
export function oversamplingCode(factor: Oversampling): number {
  return factor === 0 ? 0 : Math.log2(factor) + 1;
}

/** Factor of a register code; codes 6 and 7 also mean x16 (datasheet table 20). */
export function oversamplingFactor(code: number): Oversampling {
  const bits = code & 0x07;
  return bits === 0 ? 0 : ((1 << Math.min(bits - 1, 4)) as Oversampling);
}

export function filterCode(coefficient: FilterCoefficient): number {
  return coefficient === 0 ? 0 : Math.log2(coefficient);
}

/** Codes 5..7 also mean 16 (datasheet table 28). */
export function filterCoefficient(code: number): FilterCoefficient {
  const bits = code & 0x07;
  return bits === 0 ? 0 : ((1 << Math.min(bits, 4)) as FilterCoefficient);
}

export interface ChannelOversampling {
  temperature: Oversampling;
  pressure: Oversampling;
  humidity: Oversampling;
}

/** Measurement time in ms, datasheet section 9.1: a term only for an enabled channel.
 *  x1 on all three channels: 8 ms typical, 9.3 ms maximum. */
export function measurementTime(
  osr: ChannelOversampling,
  which: 'typical' | 'max',
): number {
  const [base, perSample, offset] = which === 'max' ? [1.25, 2.3, 0.575] : [1, 2, 0.5];
  let time = base;
  if (osr.temperature > 0) time += perSample * osr.temperature;
  if (osr.pressure > 0) time += perSample * osr.pressure + offset;
  if (osr.humidity > 0) time += perSample * osr.humidity + offset;
  return time;
}
