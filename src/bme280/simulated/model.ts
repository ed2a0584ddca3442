// A register-level BME280 (or BMP280): what a driver sees over I2C, with the
// datasheet's timing. Time is passed in by the bus (performance.now() milliseconds) and
// the chip catches up lazily whenever it is addressed, so no timers run in the
// background and a reading is exactly as late as the real part would make it.

import type { Calibration } from '../calibration';
import {
  compensateTemperature, humidityUnclamped, pressureUnclamped,
} from '../compensation';
import {
  CHIP_ID_BME280, MODE_NORMAL, MODE_SLEEP, REG, SKIPPED_H, SKIPPED_TP, SOFT_RESET_COMMAND,
  STATUS_IM_UPDATE, STATUS_MEASURING, chipModel, filterCoefficient, measurementTime,
  oversamplingFactor, type ChannelOversampling,
} from '../registers';
import { now } from '../timing';
import { DATASHEET_EXAMPLE, encodeCalibration } from './nvm';
import { weatherAt, type Conditions } from './weather';

/** What a bus needs from anything attached to it. */
export interface I2cDevice {
  /** A burst read: the address pointer auto-increments. */
  read(register: number, length: number, at: number): Uint8Array;
  /** A write: the first byte goes to `register`, then (register, byte) pairs. */
  write(register: number, bytes: Uint8Array, at: number): void;
}

export interface Bme280ModelOptions {
  /** 0x60 BME280 (default), 0x56..0x58 BMP280, anything else a stranger. */
  chipId?: number;
  calibration?: Calibration;
  /** What the sensor is exposed to at a given moment; plausible weather by default. */
  conditions?: (at: Date) => Conditions;
  /** How long a measurement takes: the datasheet's typical (default) or maximum
   *  time, or a fixed number of ms. */
  timing?: 'typical' | 'max' | number;
  /** Length of the NVM copy after power-on and soft reset, in ms. */
  nvmCopyMs?: number;
  /** Seed for the measurement noise, or false for none. */
  noise?: number | false;
}

/** t_sb in ms by code (datasheet table 27); the BMP280 has 2 s and 4 s at 6 and 7. */
const STANDBY_BME280 = [0.5, 62.5, 125, 250, 500, 1000, 10, 20];
const STANDBY_BMP280 = [0.5, 62.5, 125, 250, 500, 1000, 2000, 4000];

/** RMS noise at x1, of the order the datasheet gives; oversampling divides it by
 *  the square root of the factor. */
const NOISE_X1 = { temperature: 0.005, pressure: 2.5, humidity: 0.02 };

interface Measurement {
  osr: ChannelOversampling;
  start: number;
  end: number;
}

export class Bme280Model implements I2cDevice {
  readonly chipId: number;
  readonly hasHumidity: boolean;
  private readonly calibration: Calibration;
  private readonly nvm: Map<number, number>;
  private readonly conditions: (at: Date) => Conditions;
  private readonly timing: 'typical' | 'max' | number;
  private readonly nvmCopyMs: number;
  private readonly random: (() => number) | null;

  private regs = new Uint8Array(256);
  private nvmReadyAt: number;
  private measurement: Measurement | null = null;
  /** IIR filter memory, in 20-bit ADC units; null until the first measurement. */
  private filtered: { t: number; p: number } | null = null;
  /** ctrl_hum as it was when ctrl_meas was last written (section 5.4.3). */
  private latchedOsrsH = 0;

  /** Completed measurements, for tests that check one trigger gives one conversion. */
  conversions = 0;

  constructor(options: Bme280ModelOptions = {}, poweredOnAt: number = now()) {
    this.chipId = options.chipId ?? CHIP_ID_BME280;
    this.hasHumidity = chipModel(this.chipId) !== 'BMP280';
    this.calibration = options.calibration ?? DATASHEET_EXAMPLE;
    this.conditions = options.conditions ?? weatherAt;
    this.timing = options.timing ?? 'typical';
    this.nvmCopyMs = options.nvmCopyMs ?? 2;
    this.random = options.noise === false ? null : seeded(options.noise ?? 0x5eed);

    const image = encodeCalibration(this.calibration);
    this.nvm = new Map();
    const tpLength = this.hasHumidity ? 26 : 24;
    for (let i = 0; i < tpLength; i++) this.nvm.set(REG.calibTp + i, image.tp[i] ?? 0);
    if (this.hasHumidity) {
      for (let i = 0; i < 7; i++) this.nvm.set(REG.calibH + i, image.h[i] ?? 0);
    }
    this.nvmReadyAt = poweredOnAt + this.nvmCopyMs;
    this.resetRegisters();
  }

  read(register: number, length: number, at: number): Uint8Array {
    this.advance(at);
    // The snapshot is taken at once, which is the shadowing a burst gets; separate
    // reads straddling the end of a conversion would see old and new bytes.
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.readRegister((register + i) & 0xff, at);
    return out;
  }

  write(register: number, bytes: Uint8Array, at: number): void {
    this.advance(at);
    let target = register;
    for (let i = 0; i < bytes.length; i++) {
      this.writeRegister(target, bytes[i] ?? 0, at);
      const next = bytes[i + 1];
      if (next === undefined) break;
      target = next;
      i++;
    }
  }

  private readRegister(register: number, at: number): number {
    if (this.nvm.has(register)) {
      // The trimming registers are not valid until the NVM copy is done.
      return at < this.nvmReadyAt ? 0 : (this.nvm.get(register) ?? 0);
    }
    if (register === REG.status) {
      const measuring = this.measurement !== null && at >= this.measurement.start;
      return (measuring ? STATUS_MEASURING : 0) | (at < this.nvmReadyAt ? STATUS_IM_UPDATE : 0);
    }
    if (register === REG.reset) return 0;
    return this.regs[register] ?? 0;
  }

  private writeRegister(register: number, value: number, at: number): void {
    switch (register) {
      case REG.reset:
        if (value === SOFT_RESET_COMMAND) this.softReset(at);
        return;
      case REG.ctrlHum:
        if (this.hasHumidity) this.regs[REG.ctrlHum] = value & 0x07;
        return;
      case REG.config:
        // Writes in normal mode may be ignored (section 5.4.6); this part ignores them.
        if ((this.regs[REG.ctrlMeas] ?? 0) & 0x03) return;
        this.regs[REG.config] = value & 0xfd;
        return;
      case REG.ctrlMeas:
        this.writeCtrlMeas(value, at);
        return;
      default:
        // Everything else is read-only.
        return;
    }
  }

  private writeCtrlMeas(value: number, at: number): void {
    this.regs[REG.ctrlMeas] = value;
    this.latchedOsrsH = this.regs[REG.ctrlHum] ?? 0;
    const mode = value & 0x03;
    if (mode === MODE_SLEEP) {
      this.measurement = null;
      return;
    }
    if (this.measurement === null) this.measurement = this.schedule(at);
  }

  private schedule(start: number): Measurement {
    const ctrlMeas = this.regs[REG.ctrlMeas] ?? 0;
    const osr: ChannelOversampling = {
      temperature: oversamplingFactor(ctrlMeas >> 5),
      pressure: oversamplingFactor(ctrlMeas >> 2),
      humidity: this.hasHumidity ? oversamplingFactor(this.latchedOsrsH) : 0,
    };
    const duration = typeof this.timing === 'number'
      ? this.timing
      : measurementTime(osr, this.timing);
    return { osr, start, end: start + duration };
  }

  /** Brings the chip up to time `at`: finishes conversions, starts the next in normal mode. */
  private advance(at: number): void {
    let m = this.measurement;
    while (m !== null && m.end <= at) {
      this.complete(m);
      const mode = (this.regs[REG.ctrlMeas] ?? 0) & 0x03;
      if (mode !== MODE_NORMAL) {
        // Forced mode: back to sleep once the conversion is done (section 3.3.3).
        this.regs[REG.ctrlMeas] = (this.regs[REG.ctrlMeas] ?? 0) & 0xfc;
        m = null;
        break;
      }
      const table = this.hasHumidity ? STANDBY_BME280 : STANDBY_BMP280;
      const standby = table[(this.regs[REG.config] ?? 0) >> 5] ?? 0.5;
      const period = m.end - m.start + standby;
      // A cycle nobody looked at changes nothing but the filter; skip most of them.
      const missed = Math.max(0, Math.floor((at - m.end) / period) - 1);
      m = this.schedule(m.end + standby + missed * period);
    }
    this.measurement = m;
  }

  private complete(m: Measurement): void {
    this.conversions++;
    const truth = this.conditions(new Date());
    const cal = this.calibration;
    const coefficient = filterCoefficient((this.regs[REG.config] ?? 0) >> 2);

    const temperature = truth.temperature + this.noise(NOISE_X1.temperature, m.osr.temperature);
    const adcT = invert((adc) => compensateTemperature(adc, cal).unclamped,
      temperature, 0, 0xfffff);
    const tFine = compensateTemperature(adcT, cal).tFine;

    const pressure = truth.pressure + this.noise(NOISE_X1.pressure, m.osr.pressure);
    const adcP = invert((adc) => pressureUnclamped(adc, tFine, cal) ?? 0,
      pressure, 0, 0xfffff);

    const previous = this.filtered;
    const filter = (old: number | undefined, fresh: number): number =>
      coefficient === 0 || old === undefined
        ? fresh
        : (old * (coefficient - 1) + fresh) / coefficient;
    const t = filter(previous?.t, adcT);
    const p = filter(previous?.p, adcP);
    this.filtered = { t, p };

    // Without the filter the output has 16 bits at x1 and one more per doubling
    // (section 3.4.4 and 5.4.8); the filter brings it to 20 bits.
    const outT = m.osr.temperature === 0 ? SKIPPED_TP : resolve(t, coefficient, m.osr.temperature);
    const outP = m.osr.pressure === 0 ? SKIPPED_TP : resolve(p, coefficient, m.osr.pressure);
    this.regs.set([outP >> 12, (outP >> 4) & 0xff, (outP & 0x0f) << 4], REG.data);
    this.regs.set([outT >> 12, (outT >> 4) & 0xff, (outT & 0x0f) << 4], REG.data + 3);

    if (!this.hasHumidity || cal.humidity === null) return;
    const hum = cal.humidity;
    const humidity = truth.humidity + this.noise(NOISE_X1.humidity, m.osr.humidity);
    const outH = m.osr.humidity === 0
      ? SKIPPED_H
      : invert((adc) => humidityUnclamped(adc, tFine, hum), humidity, 0, 0xffff);
    this.regs.set([outH >> 8, outH & 0xff], REG.data + 6);
  }

  private noise(rms: number, factor: number): number {
    if (this.random === null || factor === 0) return 0;
    return (gaussian(this.random) * rms) / Math.sqrt(factor);
  }

  private softReset(at: number): void {
    this.nvmReadyAt = at + this.nvmCopyMs;
    this.resetRegisters();
  }

  private resetRegisters(): void {
    this.regs = new Uint8Array(256);
    this.regs[REG.chipId] = this.chipId;
    // Data registers come out of reset holding the skip markers (table 18).
    this.regs.set([0x80, 0x00, 0x00, 0x80, 0x00, 0x00], REG.data);
    if (this.hasHumidity) this.regs.set([0x80, 0x00], REG.data + 6);
    this.measurement = null;
    this.filtered = null;
    this.latchedOsrsH = 0;
  }
}

function resolve(value: number, coefficient: number, factor: number): number {
  const bits = coefficient > 0 ? 20 : 15 + Math.log2(factor) + 1;
  const step = 1 << (20 - bits);
  return Math.min(0xfffff, Math.max(0, Math.floor(value / step) * step));
}

/** The integer in [lo, hi] where the monotonic `f` comes closest to `target`. */
export function invert(f: (x: number) => number, target: number, lo: number, hi: number): number {
  const rising = f(hi) > f(lo);
  let low = lo;
  let high = hi;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if ((f(mid) < target) === rising) low = mid;
    else high = mid;
  }
  return Math.abs(f(low) - target) <= Math.abs(f(high) - target) ? low : high;
}

/** Marsaglia's xorshift32, so that a seeded model repeats itself. */
function seeded(seed: number): () => number {
  let state = (seed >>> 0) || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}

function gaussian(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}
