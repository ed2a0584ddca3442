// Forced-mode readings from the register-level BME280 model at x1 and x16 oversampling,
// with our driver and with the bme280 package (which opens its bus through i2c-bus's
// openPromisified; here that hands it the same model). Both buses run at 100 kHz, so
// every transfer costs its wire time, and the model converts in the datasheet's
// typical time. The floor is the datasheet's maximum time plus one 8-byte burst.

import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { Bme280 } from '../src/bme280/bme280';
import type { I2cBus } from '../src/bme280/bus';
import type { Reading } from '../src/bme280/compensation';
import { measurementTime, type ChannelOversampling } from '../src/bme280/registers';
import { SimulatedI2c } from '../src/bme280/simulated/bus';
import { Bme280Model } from '../src/bme280/simulated/model';

const CLOCK_HZ = 100_000;
/** START, address, register, repeated START, address, 8 bytes, STOP. */
const BURST_MS = ((1 + 9 + 9 + 1 + 9 + 8 * 9 + 1) * 1000) / CLOCK_HZ;

interface TheirSensor {
  triggerForcedMeasurement(): Promise<void>;
  maximumMeasurementTime(): number;
  read(): Promise<{ temperature?: number; pressure?: number; humidity?: number }>;
  close(): Promise<void>;
}
interface TheirPackage {
  open(options: Record<string, unknown>): Promise<TheirSensor>;
  OVERSAMPLE: Record<string, number>;
}

const load = createRequire(__filename);
const theirs = load('bme280') as TheirPackage;
// The package requires i2c-bus itself; replacing openPromisified on that module object
// is how it gets the simulated bus instead of /dev/i2c-1.
const theirI2c = createRequire(load.resolve('bme280'))('i2c-bus') as
  { openPromisified: (bus: number) => Promise<I2cBus> };

interface Result { msPerReading: number; transactionsPerReading: number; last: Reading }

function hardware(): SimulatedI2c {
  const conditions = { temperature: 18.25, humidity: 55.5, pressure: 101_010 };
  return new SimulatedI2c({ clockHz: CLOCK_HZ })
    .attach(0x76, new Bme280Model({ noise: false, conditions: () => conditions }));
}

async function timeReadings(
  count: number, bus: SimulatedI2c, readOnce: () => Promise<Reading>,
): Promise<Result> {
  await readOnce();
  const before = bus.transactions;
  const start = performance.now();
  let last: Reading = await readOnce();
  for (let i = 1; i < count; i++) last = await readOnce();
  const elapsed = performance.now() - start;
  return {
    msPerReading: elapsed / count,
    transactionsPerReading: (bus.transactions - before) / count,
    last,
  };
}

async function ours(osr: ChannelOversampling, count: number): Promise<Result> {
  const bus = hardware();
  const handle = bus.open();
  const driver = new Bme280({ address: 0x76, oversampling: osr, filter: 0, busLabel: 'bench' });
  return timeReadings(count, bus, () => driver.read(handle));
}

async function theirsOn(code: number, count: number): Promise<Result> {
  const bus = hardware();
  theirI2c.openPromisified = async () => bus.open();
  const sensor = await theirs.open({
    i2cBusNumber: 1, i2cAddress: 0x76, forcedMode: true,
    temperatureOversampling: code, pressureOversampling: code, humidityOversampling: code,
  });
  // The package's own forced-mode example: trigger, wait the maximum time, read.
  const result = await timeReadings(count, bus, async () => {
    await sensor.triggerForcedMeasurement();
    await new Promise((resolve) => setTimeout(resolve, sensor.maximumMeasurementTime()));
    const r = await sensor.read();
    return { temperature: r.temperature ?? null, humidity: r.humidity ?? null,
      pressure: r.pressure ?? null };
  });
  await sensor.close();
  return result;
}

const fmt = (value: number, digits = 2): string => value.toFixed(digits).padStart(8);

async function main(): Promise<void> {
  const rows = [
    { label: 'x1', factor: 1 as const, code: theirs.OVERSAMPLE.X1 ?? 1, count: 60 },
    { label: 'x16', factor: 16 as const, code: theirs.OVERSAMPLE.X16 ?? 5, count: 15 },
  ];
  console.log(`BME280 forced mode on the simulated bus at ${CLOCK_HZ / 1000} kHz,`
    + ' model converting in the typical time\n');
  console.log('| osr | floor ms | ours ms | bme280 ms | ours/bme280 | ours I2C/rd '
    + '| bme280 I2C/rd | ours/floor |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const row of rows) {
    const osr = { temperature: row.factor, pressure: row.factor, humidity: row.factor };
    const floor = measurementTime(osr, 'max') + BURST_MS;
    const a = await ours(osr, row.count);
    const b = await theirsOn(row.code, row.count);
    const agree = Math.abs((a.last.temperature ?? NaN) - (b.last.temperature ?? NaN)) < 1e-9;
    if (!agree) throw new Error(`the drivers disagree: ${JSON.stringify([a.last, b.last])}`);
    console.log(`| ${row.label} |${fmt(floor)} |${fmt(a.msPerReading)} |${fmt(b.msPerReading)} `
      + `|${fmt(a.msPerReading / b.msPerReading, 3)} |${fmt(a.transactionsPerReading, 1)} `
      + `|${fmt(b.transactionsPerReading, 1)} |${fmt(a.msPerReading / floor, 3)} |`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
