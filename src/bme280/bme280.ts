// Driver for one BME280 or BMP280 on an I2C bus, in forced mode: every reading is one
// trigger, a wait of the datasheet's maximum measurement time, a status check and one
// burst of the data registers (datasheet sections 3.3.3, 4 and 5.4).

import type { I2cBus } from './bus';
import { parseCalibration, type Calibration } from './calibration';
import { compensate, type RawSample, type Reading } from './compensation';
import { Bme280Error, classifyBusError, isNoAcknowledge } from './errors';
import {
  ADDRESSES, CALIB_H_LENGTH, CALIB_TP_LENGTH, DATA_LENGTH, DATA_LENGTH_NO_HUMIDITY,
  MODE_FORCED, REG, SOFT_RESET_COMMAND, STATUS_IM_UPDATE, STATUS_MEASURING,
  chipModel, filterCode, measurementTime, oversamplingCode,
  type ChannelOversampling, type ChipModel, type FilterCoefficient,
} from './registers';
import { now, sleep, waitUntil } from './timing';

export interface Bme280Options {
  /** 0x76, 0x77, or 'auto' to try both. */
  address: number | 'auto';
  oversampling: ChannelOversampling;
  filter: FilterCoefficient;
  /** Names the bus in messages: "/dev/i2c-1", "the simulated bus". */
  busLabel: string;
}

/** The datasheet's weather-monitoring profile (section 3.5.1). */
export const WEATHER_MONITORING: Pick<Bme280Options, 'oversampling' | 'filter'> = {
  oversampling: { temperature: 1, pressure: 1, humidity: 1 },
  filter: 0,
};

export interface Chip {
  model: ChipModel;
  chipId: number;
  address: number;
}

/** The datasheet gives no limit for the NVM copy; 2 ms is the start-up time, and a
 *  chip still copying after this long is not going to finish. */
const NVM_COPY_WAIT_MS = 2;
const NVM_COPY_LIMIT_MS = 50;
/** A chip still busy after twice the datasheet's maximum and this much more is stuck. */
const MEASURE_GRACE_MS = 20;

export const hex = (value: number): string => `0x${value.toString(16).padStart(2, '0')}`;

interface Ready {
  chip: Chip;
  calibration: Calibration;
}

export class Bme280 {
  private ready: Ready | null = null;
  /** The chip found last time; a missing acknowledge from it means it vanished. */
  private seen: Chip | null = null;

  constructor(private readonly options: Bme280Options) {}

  /** The chip found by the last successful initialisation, if any. */
  get chip(): Chip | null {
    return this.ready?.chip ?? this.seen;
  }

  /**
   * Takes one reading on `bus`. The first call, and the first call after any
   * failure, detects the chip, resets it and reads its calibration again.
   */
  async read(bus: I2cBus): Promise<Reading> {
    try {
      const ready = this.ready ?? (await this.initialise(bus));
      this.ready = ready;
      return await this.measure(bus, ready);
    } catch (error) {
      this.ready = null;
      throw this.explain(error);
    }
  }

  private explain(error: unknown): Bme280Error {
    const address = this.seen?.address ?? this.options.address;
    const where = address === 'auto'
      ? { bus: this.options.busLabel, address: ADDRESSES.map(hex).join(' or ') }
      : { bus: this.options.busLabel, address: hex(address), other: otherAddress(address) };
    return classifyBusError(error, where, this.seen !== null);
  }

  private async initialise(bus: I2cBus): Promise<Ready> {
    const chip = await this.detect(bus);
    this.seen = chip;
    const { address } = chip;

    await bus.writeByte(address, REG.reset, SOFT_RESET_COMMAND);
    await this.awaitNvmCopy(bus, address);

    const tp = await readBlock(bus, address, REG.calibTp, CALIB_TP_LENGTH);
    const h = chip.model === 'BME280'
      ? await readBlock(bus, address, REG.calibH, CALIB_H_LENGTH)
      : null;
    const calibration = parseCalibration(tp, h);

    // After the reset the chip sleeps, the only mode in which config writes are
    // sure to take (section 5.4.6); ctrl_hum takes effect at the next ctrl_meas write,
    // which is every trigger.
    await bus.writeByte(address, REG.config, filterCode(this.options.filter) << 2);
    if (chip.model === 'BME280') {
      await bus.writeByte(address, REG.ctrlHum,
        oversamplingCode(this.options.oversampling.humidity));
    }
    return { chip, calibration };
  }

  private async detect(bus: I2cBus): Promise<Chip> {
    const wanted = this.options.address;
    const seen = this.seen;
    // In auto mode the address that answered before goes first.
    const candidates = wanted !== 'auto' ? [wanted]
      : seen === null ? ADDRESSES
        : [seen.address, ...ADDRESSES.filter((address) => address !== seen.address)];
    let stranger: { address: number; chipId: number } | null = null;

    for (const address of candidates) {
      let chipId: number;
      try {
        chipId = await bus.readByte(address, REG.chipId);
      } catch (error) {
        if (isNoAcknowledge(error)) continue;
        throw error;
      }
      const model = chipModel(chipId);
      if (model !== null) return { model, chipId, address };
      stranger ??= { address, chipId };
    }

    const busLabel = this.options.busLabel;
    if (stranger !== null) {
      throw new Bme280Error('wrong-chip',
        { bus: busLabel, address: hex(stranger.address), chipId: hex(stranger.chipId) });
    }
    if (seen !== null) {
      throw new Bme280Error('device-lost', { bus: busLabel, address: hex(seen.address) });
    }
    if (wanted === 'auto') {
      throw new Bme280Error('no-device',
        { bus: busLabel, address: ADDRESSES.map(hex).join(' or ') });
    }
    throw new Bme280Error('no-device',
      { bus: busLabel, address: hex(wanted), other: otherAddress(wanted) });
  }

  private async awaitNvmCopy(bus: I2cBus, address: number): Promise<void> {
    const deadline = now() + NVM_COPY_LIMIT_MS;
    await sleep(NVM_COPY_WAIT_MS);
    while ((await bus.readByte(address, REG.status)) & STATUS_IM_UPDATE) {
      if (now() > deadline) {
        throw new Bme280Error('timeout', {
          bus: this.options.busLabel, address: hex(address),
          detail: `NVM copy not finished after ${NVM_COPY_LIMIT_MS} ms`,
        });
      }
      await sleep(1);
    }
  }

  private async measure(bus: I2cBus, ready: Ready): Promise<Reading> {
    const { chip, calibration } = ready;
    const osr = this.effectiveOversampling(chip);
    const ctrlMeas = (oversamplingCode(osr.temperature) << 5)
      | (oversamplingCode(osr.pressure) << 2) | MODE_FORCED;

    await bus.writeByte(chip.address, REG.ctrlMeas, ctrlMeas);
    const maxTime = measurementTime(osr, 'max');
    const started = now();
    await waitUntil(started + maxTime);

    while ((await bus.readByte(chip.address, REG.status)) & STATUS_MEASURING) {
      if (now() > started + 2 * maxTime + MEASURE_GRACE_MS) {
        throw new Bme280Error('timeout', {
          bus: this.options.busLabel, address: hex(chip.address),
          detail: `still measuring ${Math.round(now() - started)} ms after the trigger`,
        });
      }
      await sleep(1);
    }

    // One burst: the chip shadows the data registers only for the length of a burst,
    // so separate reads could mix two measurements (section 4).
    const humidity = chip.model === 'BME280';
    const data = await readBlock(bus, chip.address, REG.data,
      humidity ? DATA_LENGTH : DATA_LENGTH_NO_HUMIDITY);
    return compensate(unpack(data, humidity), calibration, {
      temperature: osr.temperature > 0,
      pressure: osr.pressure > 0,
      humidity: osr.humidity > 0,
    });
  }

  private effectiveOversampling(chip: Chip): ChannelOversampling {
    const osr = this.options.oversampling;
    return chip.model === 'BME280' ? osr : { ...osr, humidity: 0 };
  }
}

function otherAddress(address: number): string | undefined {
  const other = ADDRESSES.find((candidate) => candidate !== address);
  return ADDRESSES.includes(address) && other !== undefined ? hex(other) : undefined;
}

async function readBlock(
  bus: I2cBus, address: number, register: number, length: number,
): Promise<Buffer> {
  const { bytesRead, buffer } = await bus.readI2cBlock(address, register, length,
    Buffer.alloc(length));
  if (bytesRead !== length) {
    throw new Error(`read ${bytesRead} of ${length} bytes from ${hex(register)}`);
  }
  return buffer;
}

/** 20-bit T and P as msb, lsb, xlsb[7:4]; 16-bit H as msb, lsb (section 5.4.7-9). */
export function unpack(data: Uint8Array, humidity: boolean): RawSample {
  const b = (i: number): number => data[i] ?? 0;
  const adc20 = (i: number): number => (b(i) << 12) | (b(i + 1) << 4) | (b(i + 2) >> 4);
  return {
    adcP: adc20(0),
    adcT: adc20(3),
    adcH: humidity ? (b(6) << 8) | b(7) : null,
  };
}
