// The simulated sensor at register level, the way a driver other than ours would see it.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { REG } from '../../src/bme280/registers';
import { SimulatedI2c } from '../../src/bme280/simulated/bus';
import { Bme280Model, type Bme280ModelOptions } from '../../src/bme280/simulated/model';
import { weatherAt } from '../../src/bme280/simulated/weather';

const AIR = { temperature: 20, humidity: 50, pressure: 100000 };

function chip(options: Bme280ModelOptions = {}) {
  const hardware = new SimulatedI2c()
    .attach(0x76, new Bme280Model({ noise: false, conditions: () => AIR, ...options }));
  return { hardware, bus: hardware.open() };
}

async function untilClear(read: () => Promise<number>, mask: number): Promise<void> {
  while ((await read()) & mask) await new Promise((resolve) => setTimeout(resolve, 1));
}

async function data(bus: ReturnType<SimulatedI2c['open']>): Promise<number[]> {
  return [...(await bus.readI2cBlock(0x76, REG.data, 8, Buffer.alloc(8))).buffer];
}

describe('Bme280Model', () => {
  test('answers its chip id', async () => {
    assert.equal(await chip().bus.readByte(0x76, REG.chipId), 0x60);
    assert.equal(await chip({ chipId: 0x58 }).bus.readByte(0x76, REG.chipId), 0x58);
  });

  test('hides its calibration while the NVM copy after a soft reset runs', async () => {
    const { bus } = chip({ nvmCopyMs: 100 });
    await bus.writeByte(0x76, REG.reset, 0xb6);
    assert.equal((await bus.readByte(0x76, REG.status)) & 0x01, 0x01);
    assert.equal(await bus.readByte(0x76, REG.calibTp), 0);
    await untilClear(() => bus.readByte(0x76, REG.status), 0x01);
    assert.equal(await bus.readByte(0x76, REG.calibTp), 27504 & 0xff);
  });

  test('comes out of reset with skip markers in the data registers', async () => {
    assert.deepEqual(await data(chip().bus), [0x80, 0, 0, 0x80, 0, 0, 0x80, 0]);
  });

  test('forced mode: busy while converting, then data and back to sleep', async () => {
    const { bus } = chip({ timing: 200 });
    await bus.writeByte(0x76, REG.ctrlHum, 0x01);
    await bus.writeByte(0x76, REG.ctrlMeas, 0x25);
    assert.equal((await bus.readByte(0x76, REG.status)) & 0x08, 0x08);
    assert.equal((await bus.readByte(0x76, REG.ctrlMeas)) & 0x03, 0x01);
    assert.deepEqual(await data(bus), [0x80, 0, 0, 0x80, 0, 0, 0x80, 0]);
    await untilClear(() => bus.readByte(0x76, REG.status), 0x08);
    assert.equal(await bus.readByte(0x76, REG.ctrlMeas), 0x24);
    const after = await data(bus);
    assert.notEqual(after[0], 0x80);
    assert.notEqual(after[6], 0x80);
    // x1 without the filter: 16 bits, so the low nibble of xlsb and one more are zero.
    assert.equal((after[2] ?? 0xff) & 0xf0, 0);
  });

  test('ctrl_hum takes effect only at the next ctrl_meas write', async () => {
    const { bus } = chip();
    await bus.writeByte(0x76, REG.ctrlMeas, 0x25);
    await bus.writeByte(0x76, REG.ctrlHum, 0x01);
    await untilClear(() => bus.readByte(0x76, REG.status), 0x08);
    assert.deepEqual((await data(bus)).slice(6), [0x80, 0x00]);
    await bus.writeByte(0x76, REG.ctrlMeas, 0x25);
    await untilClear(() => bus.readByte(0x76, REG.status), 0x08);
    assert.notDeepEqual((await data(bus)).slice(6), [0x80, 0x00]);
  });

  test('a block write is register and value pairs', async () => {
    const { bus } = chip();
    await bus.writeI2cBlock(0x76, REG.config, 3, Buffer.from([0x10, REG.ctrlHum, 0x03]));
    assert.equal(await bus.readByte(0x76, REG.config), 0x10);
    assert.equal(await bus.readByte(0x76, REG.ctrlHum), 0x03);
  });

  test('normal mode keeps converting on its own', async () => {
    const { hardware, bus } = chip({ timing: 2 });
    const device = hardware.device(0x76) as Bme280Model;
    await bus.writeByte(0x76, REG.ctrlMeas, 0x27);
    while (device.conversions < 3) {
      await new Promise((resolve) => setTimeout(resolve, 2));
      await bus.readByte(0x76, REG.status);
    }
    assert.equal((await bus.readByte(0x76, REG.ctrlMeas)) & 0x03, 0x03);
  });

  test('an empty address fails like i2c-bus on a Raspberry Pi, and still counts', async () => {
    const { hardware, bus } = chip();
    const before = hardware.transactions;
    await assert.rejects(bus.readByte(0x77, REG.chipId), {
      message: 'EREMOTEIO, Remote I/O error', code: 'EREMOTEIO', errno: 121,
      syscall: 'readByte',
    });
    assert.equal(hardware.transactions, before + 1);
  });

  test('a closed handle refuses transfers', async () => {
    const { bus } = chip();
    await bus.close();
    await assert.rejects(bus.readByte(0x76, REG.chipId), /closed/);
  });
});

describe('weather', () => {
  test('stays plausible and changes through the day', () => {
    const day = [...Array(24).keys()].map((hour) => weatherAt(new Date(2024, 5, 1, hour)));
    for (const w of day) {
      assert.ok(w.temperature > -5 && w.temperature < 30);
      assert.ok(w.humidity >= 15 && w.humidity <= 98);
      assert.ok(w.pressure > 99000 && w.pressure < 103500);
    }
    const temperatures = day.map((w) => w.temperature);
    const warmest = temperatures.indexOf(Math.max(...temperatures));
    assert.ok(warmest >= 12 && warmest <= 17, `warmest at ${warmest}:00`);
    assert.ok(Math.max(...temperatures) - Math.min(...temperatures) > 8);
  });
});
