// The driver against the register-level model: values, the transfers of a reading,
// the chips it recognises, and every fault the node has to survive.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Bme280, WEATHER_MONITORING, type Bme280Options } from '../../src/bme280/bme280';
import { openHardwareBus, type I2cBus } from '../../src/bme280/bus';
import type { Calibration } from '../../src/bme280/calibration';
import { Bme280Error } from '../../src/bme280/errors';
import { REG, type ChannelOversampling } from '../../src/bme280/registers';
import { leaseBus, leasedBusKeys } from '../../src/bme280/shared-bus';
import { SimulatedI2c } from '../../src/bme280/simulated/bus';
import { Bme280Model, type Bme280ModelOptions } from '../../src/bme280/simulated/model';
import {
  DATASHEET_EXAMPLE, NEGATIVE_H2, NEGATIVE_HUMIDITY,
} from '../../src/bme280/simulated/nvm';
import type { Conditions } from '../../src/bme280/simulated/weather';
import { recording, type Transfer } from './support';

const STILL_AIR: Conditions = { temperature: 21.5, humidity: 47, pressure: 99870 };

function options(overrides: Partial<Bme280Options> = {}): Bme280Options {
  return { address: 0x76, ...WEATHER_MONITORING, busLabel: 'the test bus', ...overrides };
}

function sensor(model: Bme280ModelOptions = {}, address = 0x76) {
  const conditions = { ...STILL_AIR };
  const device = new Bme280Model({ noise: false, conditions: () => conditions, ...model });
  const hardware = new SimulatedI2c().attach(address, device);
  const log: Transfer[] = [];
  const bus = recording(hardware.open(), log);
  return { device, hardware, bus, log, conditions };
}

async function rejectsWith(promise: Promise<unknown>, kind: string, message?: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof Bme280Error, `not a Bme280Error: ${String(error)}`);
    assert.equal(error.kind, kind);
    if (message !== undefined) assert.equal(error.message, message);
    return true;
  });
}

function near(actual: number | null, expected: number, tolerance: number, what: string) {
  assert.ok(actual !== null, `${what} is null`);
  assert.ok(Math.abs(actual - expected) <= tolerance,
    `${what} ${actual} is not within ${tolerance} of ${expected}`);
}

describe('readings', () => {
  const x16: ChannelOversampling = { temperature: 16, pressure: 16, humidity: 16 };
  const cases: { name: string; calibration: Calibration; osr?: ChannelOversampling;
    filter?: 0 | 16 }[] = [
    { name: 'datasheet calibration, x1', calibration: DATASHEET_EXAMPLE },
    { name: 'negative H4/H5/H6, x1', calibration: NEGATIVE_HUMIDITY },
    { name: 'negative H2, x1', calibration: NEGATIVE_H2 },
    { name: 'negative H4/H5/H6, x16 with filter', calibration: NEGATIVE_HUMIDITY, osr: x16,
      filter: 16 },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const { bus } = sensor({ calibration: c.calibration });
      const driver = new Bme280(options({
        oversampling: c.osr ?? WEATHER_MONITORING.oversampling, filter: c.filter ?? 0,
      }));
      const reading = await driver.read(bus);
      // x1 without the filter leaves 16 of the 20 bits: about 0.005 degC and 3 Pa a step.
      near(reading.temperature, STILL_AIR.temperature, 0.01, 'temperature');
      near(reading.pressure, STILL_AIR.pressure / 100, 0.05, 'pressure');
      near(reading.humidity, STILL_AIR.humidity, 0.02, 'humidity');
      assert.equal(driver.chip?.model, 'BME280');
    });
  }

  test('follows the weather from one reading to the next', async () => {
    const { bus, conditions } = sensor();
    const driver = new Bme280(options());
    await driver.read(bus);
    Object.assign(conditions, { temperature: -5, humidity: 90, pressure: 95000 });
    const reading = await driver.read(bus);
    near(reading.temperature, -5, 0.01, 'temperature');
    near(reading.humidity, 90, 0.02, 'humidity');
    near(reading.pressure, 950, 0.05, 'pressure');
  });

  test('the plausible default weather stays plausible', async () => {
    const hardware = new SimulatedI2c().attach(0x77, new Bme280Model());
    const reading = await new Bme280(options({ address: 0x77 })).read(hardware.open());
    const { temperature } = reading;
    assert.ok(temperature !== null && temperature > -10 && temperature < 35);
    assert.ok(reading.humidity !== null && reading.humidity >= 10 && reading.humidity <= 100);
    assert.ok(reading.pressure !== null && reading.pressure > 980 && reading.pressure < 1045);
  });

  test('a switched-off channel is null although its register holds a marker', async () => {
    const { bus } = sensor();
    const driver = new Bme280(options({
      oversampling: { temperature: 2, pressure: 0, humidity: 0 },
    }));
    const reading = await driver.read(bus);
    near(reading.temperature, STILL_AIR.temperature, 0.01, 'temperature');
    assert.equal(reading.pressure, null);
    assert.equal(reading.humidity, null);
    const raw = (await bus.readI2cBlock(0x76, REG.data, 8, Buffer.alloc(8))).buffer;
    assert.deepEqual([...raw.subarray(0, 3)], [0x80, 0x00, 0x00]);
    assert.deepEqual([...raw.subarray(6)], [0x80, 0x00]);
  });

  test('a BMP280 is recognised and gives no humidity', async () => {
    const { bus, log } = sensor({ chipId: 0x58, calibration: { ...DATASHEET_EXAMPLE,
      humidity: null } });
    const driver = new Bme280(options());
    const reading = await driver.read(bus);
    assert.equal(driver.chip?.model, 'BMP280');
    assert.equal(reading.humidity, null);
    near(reading.temperature, STILL_AIR.temperature, 0.01, 'temperature');
    near(reading.pressure, STILL_AIR.pressure / 100, 0.05, 'pressure');
    // No humidity block, no ctrl_hum, and a data burst that stops at 0xFC.
    assert.ok(!log.some((t) => t.register === REG.calibH || t.register === REG.ctrlHum));
    assert.equal(log.at(-1)?.value, 6);
  });

  test('auto finds the sensor at 0x77', async () => {
    const { bus } = sensor({}, 0x77);
    const driver = new Bme280(options({ address: 'auto' }));
    await driver.read(bus);
    assert.equal(driver.chip?.address, 0x77);
  });
});

describe('the transfers of a reading', () => {
  test('initialisation: id, reset, NVM wait, both calibration blocks, config', async () => {
    const { bus, log } = sensor({ nvmCopyMs: 6 });
    await new Bme280(options({ filter: 4 })).read(bus);
    const init = log.slice(0, log.findIndex((t) => t.register === REG.ctrlMeas));
    const summary = init.filter((t) => t.register !== REG.status)
      .map((t) => `${t.op} ${t.register.toString(16)} ${t.value}`);
    assert.deepEqual(summary, [
      'readByte d0 1', 'writeByte e0 182', 'readI2cBlock 88 26', 'readI2cBlock e1 7',
      'writeByte f5 8', 'writeByte f2 1',
    ]);
    // The NVM copy outlasted the first 2 ms wait, so im_update was polled.
    assert.ok(init.filter((t) => t.register === REG.status).length >= 2);
  });

  test('each reading is one trigger, one status check and one burst', async () => {
    const { bus, log, device } = sensor();
    const driver = new Bme280(options());
    await driver.read(bus);
    for (let i = 0; i < 3; i++) {
      log.length = 0;
      const before = device.conversions;
      await driver.read(bus);
      assert.deepEqual(log.map((t) => `${t.op} ${t.register.toString(16)} ${t.value}`), [
        'writeByte f4 37', 'readByte f3 1', 'readI2cBlock f7 8',
      ]);
      assert.equal(device.conversions, before + 1);
    }
  });

  test('a chip slower than the datasheet is polled, and the new result is read', async () => {
    const { bus, log, conditions } = sensor({ timing: 20 });
    const driver = new Bme280(options());
    await driver.read(bus);
    conditions.temperature = 30;
    log.length = 0;
    const reading = await driver.read(bus);
    near(reading.temperature, 30, 0.01, 'temperature');
    assert.ok(log.filter((t) => t.register === REG.status).length >= 2);
  });
});

describe('faults', () => {
  test('no device at the address names the other address', async () => {
    const hardware = new SimulatedI2c();
    const driver = new Bme280(options());
    await rejectsWith(driver.read(hardware.open()), 'no-device',
      'no BME280 at 0x76 on the test bus; check wiring or try 0x77');
  });

  test('no device at either address in auto mode', async () => {
    const driver = new Bme280(options({ address: 'auto' }));
    await rejectsWith(driver.read(new SimulatedI2c().open()), 'no-device',
      'no BME280 at 0x76 or 0x77 on the test bus; check wiring');
  });

  test('a chip with another id', async () => {
    const { bus } = sensor({ chipId: 0x61 });
    await rejectsWith(new Bme280(options()).read(bus), 'wrong-chip',
      'the chip at 0x76 on the test bus has id 0x61, not a BME280 (0x60) or BMP280 (0x58); ' +
      'check the address');
  });

  test('a device that vanishes, then comes back', async () => {
    const { bus, hardware } = sensor();
    const driver = new Bme280(options());
    await driver.read(bus);
    const device = hardware.detach(0x76);
    assert.ok(device !== undefined);
    await rejectsWith(driver.read(bus), 'device-lost',
      'the sensor at 0x76 on the test bus stopped answering; check wiring and power');
    await rejectsWith(driver.read(bus), 'device-lost');
    // Back after a power cycle: the driver must detect, reset and calibrate again.
    const fresh = new Bme280Model({ noise: false, conditions: () => STILL_AIR });
    hardware.attach(0x76, fresh);
    near((await driver.read(bus)).temperature, STILL_AIR.temperature, 0.01, 'temperature');
    assert.equal(fresh.conversions, 1);
  });

  test('a bus that does not exist, through the real i2c-bus', async () => {
    const bus = await openHardwareBus(97);
    const driver = new Bme280(options({ busLabel: '/dev/i2c-97' }));
    await rejectsWith(driver.read(bus), 'no-bus',
      'no I2C bus /dev/i2c-97; enable I2C (raspi-config) or choose the bus the sensor is on');
    await bus.close();
  });

  test('a platform without i2c-bus', async () => {
    const missing = Object.assign(new Error("Cannot find module 'i2c-bus'"),
      { code: 'MODULE_NOT_FOUND' });
    await rejectsWith(openHardwareBus(1, () => Promise.reject(missing)), 'no-driver');
  });

  test('an NVM copy that never ends', async () => {
    const { bus } = sensor({ nvmCopyMs: 10_000 });
    await rejectsWith(new Bme280(options()).read(bus), 'timeout');
  });

  test('a measurement that never ends', async () => {
    const { bus } = sensor({ timing: 10_000 });
    await rejectsWith(new Bme280(options()).read(bus), 'timeout');
  });

  test('a permission problem names the group', async () => {
    const denied: I2cBus = {
      ...new SimulatedI2c().open(),
      readByte: () => Promise.reject(Object.assign(new Error('EACCES: permission denied'),
        { code: 'EACCES' })),
    };
    await rejectsWith(new Bme280(options({ busLabel: '/dev/i2c-1' })).read(denied),
      'permission', 'no permission to open /dev/i2c-1; add the Node-RED user to the group i2c');
  });
});

describe('sharing a bus', () => {
  test('readings from two sensors never interleave', async () => {
    const hardware = new SimulatedI2c()
      .attach(0x76, new Bme280Model({ noise: false, conditions: () => STILL_AIR }))
      .attach(0x77, new Bme280Model({ noise: false, conditions: () => STILL_AIR }));
    const log: Transfer[] = [];
    const open = async () => recording(hardware.open(), log);
    const a = leaseBus('interleave', open);
    const b = leaseBus('interleave', open);
    const first = new Bme280(options({ address: 0x76 }));
    const second = new Bme280(options({ address: 0x77 }));
    const same = new Bme280(options({ address: 0x76 }));

    const readings = await Promise.all([0, 1, 2].flatMap(() => [
      a.run((bus) => first.read(bus)),
      b.run((bus) => second.read(bus)),
      b.run((bus) => same.read(bus)),
    ]));
    for (const reading of readings) near(reading.temperature, 21.5, 0.01, 'temperature');

    // Every trigger is followed by its own status check and burst.
    log.forEach((t, i) => {
      if (t.register !== REG.ctrlMeas) return;
      const next = log.slice(i + 1, i + 3);
      assert.ok(next.every((n) => n.address === t.address), `interleaved after ${i}`);
    });
    await a.release();
    await b.release();
  });

  test('the last sensor to let go closes the bus', async () => {
    let opened = 0;
    let closed = 0;
    const hardware = new SimulatedI2c()
      .attach(0x76, new Bme280Model({ noise: false, conditions: () => STILL_AIR }));
    const open = async (): Promise<I2cBus> => {
      opened++;
      return { ...hardware.open(), close: async () => { closed++; } };
    };
    const a = leaseBus('closing', open);
    const b = leaseBus('closing', open);
    await a.run((bus) => new Bme280(options()).read(bus));
    await b.run((bus) => new Bme280(options()).read(bus));
    await a.release();
    await a.release();
    assert.equal(closed, 0);
    assert.ok(leasedBusKeys().includes('closing'));
    await b.release();
    assert.deepEqual([opened, closed], [1, 1]);
    assert.ok(!leasedBusKeys().includes('closing'));
  });
});
