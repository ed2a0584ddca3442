// The bme280-sensor node in a real Node-RED runtime (node-red-node-test-helper), on the
// simulated bus, with the faults an operator meets: no sensor, the wrong chip, a sensor
// that vanishes, a bus that does not exist, bad settings.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { Bme280Error, type Bme280ErrorKind } from '../../src/bme280/errors';
import { Bme280Sensor } from '../../src/bme280/sensor';
import type * as SimulatedBusModule from '../../src/bme280/simulated/bus';
import type * as ModelModule from '../../src/bme280/simulated/model';
import type * as SharedBusModule from '../../src/bme280/shared-bus';

interface Message { payload?: unknown; sensor?: unknown; topic?: string; _msgid?: string }
interface Call { args: unknown[] }
interface HelperNode {
  receive(msg: Message): void;
  on(event: 'input', listener: (msg: Message) => void): void;
  on(event: 'call:error' | 'call:status', listener: (call: Call) => void): void;
}
interface TestHelper {
  init(runtimePath: string): void;
  load(node: unknown, flow: object[]): Promise<void>;
  unload(): Promise<void>;
  getNode(id: string): HelperNode;
  startServer(): Promise<void>;
  stopServer(): Promise<void>;
}

const root = join(__dirname, '..', '..');
const load = createRequire(__filename);
const helper = load('node-red-node-test-helper') as TestHelper;
// The node is loaded from dist/, so the simulated hardware must come from there too.
const sensorNode: unknown = load(join(root, 'dist/nodes/bme280-sensor.js'));
const simulated = load(join(root, 'dist/src/bme280/simulated/bus.js')) as
  typeof SimulatedBusModule;
const models = load(join(root, 'dist/src/bme280/simulated/model.js')) as typeof ModelModule;
const sharedBus = load(join(root, 'dist/src/bme280/shared-bus.js')) as typeof SharedBusModule;

function flow(props: Record<string, unknown>): object[] {
  return [
    { id: 'n1', type: 'bme280-sensor', name: 'sensor', bus: 'simulated', address: '0x76',
      osrsT: '1', osrsP: '1', osrsH: '1', filter: '0', wires: [['out']], ...props },
    { id: 'out', type: 'helper' },
  ];
}

/** Sends one message and waits for either the output or the error of the node. */
function trigger(msg: Message = { topic: 'garden' }): Promise<
  { kind: 'output'; msg: Message } | { kind: 'error'; error: Error }> {
  const node = helper.getNode('n1');
  const out = helper.getNode('out');
  return new Promise((resolve) => {
    out.on('input', (received) => resolve({ kind: 'output', msg: received }));
    node.on('call:error', (call) => resolve({ kind: 'error', error: call.args[0] as Error }));
    node.receive(msg);
  });
}

async function output(): Promise<Message> {
  const result = await trigger();
  assert.equal(result.kind, 'output', result.kind === 'error' ? result.error.message : '');
  return (result as { msg: Message }).msg;
}

async function failure(): Promise<string> {
  const result = await trigger();
  assert.equal(result.kind, 'error');
  return (result as { error: Error }).error.message;
}

/** The next status that has a colour; clearing calls carry none. */
function nextStatus(): Promise<{ fill?: string; text?: string }> {
  return new Promise((resolve) => {
    helper.getNode('n1').on('call:status', (call) => {
      const status = call.args[0] as { fill?: string; text?: string };
      if (status.fill !== undefined) resolve(status);
    });
  });
}

function isReading(payload: unknown): asserts payload is Record<string, number | null> {
  assert.equal(typeof payload, 'object');
  assert.deepEqual(Object.keys(payload as object).sort(), ['humidity', 'pressure', 'temperature']);
}

describe('bme280-sensor node', () => {
  before(async () => {
    helper.init(load.resolve('node-red'));
    await helper.startServer();
  });
  after(async () => { await helper.stopServer(); });
  afterEach(async () => {
    await helper.unload();
    const bus = simulated.sharedSimulatedBus();
    bus.attach(0x76, new models.Bme280Model());
    bus.attach(0x77, new models.Bme280Model());
  });

  test('a message in, a reading out, on the simulated bus', async () => {
    await helper.load(sensorNode, flow({}));
    const status = nextStatus();
    const msg = await output();
    isReading(msg.payload);
    assert.ok(typeof msg.payload.temperature === 'number');
    assert.ok(typeof msg.payload.humidity === 'number');
    assert.ok(typeof msg.payload.pressure === 'number' && msg.payload.pressure > 900);
    assert.deepEqual(msg.sensor, { chip: 'BME280', address: '0x76', bus: 'simulated' });
    assert.equal(msg.topic, 'garden');
    assert.deepEqual(await status,
      { fill: 'green', shape: 'dot', text: 'bme280-sensor.status.reading' });
  });

  test('numbers and numeric strings both work', async () => {
    await helper.load(sensorNode, flow({ address: 'auto', osrsT: 16, osrsP: 2, osrsH: 0,
      filter: 16 }));
    const msg = await output();
    isReading(msg.payload);
    assert.equal(msg.payload.humidity, null);
    assert.ok(typeof msg.payload.temperature === 'number');
  });

  test('a BMP280 is named and has no humidity', async () => {
    simulated.sharedSimulatedBus().attach(0x77, new models.Bme280Model({ chipId: 0x58 }));
    await helper.load(sensorNode, flow({ address: '0x77' }));
    const msg = await output();
    isReading(msg.payload);
    assert.equal(msg.payload.humidity, null);
    assert.deepEqual(msg.sensor, { chip: 'BMP280', address: '0x77', bus: 'simulated' });
  });

  test('no sensor at the address: done(err), red status, and the next input retries', async () => {
    simulated.sharedSimulatedBus().detach(0x77);
    await helper.load(sensorNode, flow({ address: '0x77' }));
    const status = nextStatus();
    assert.equal(await failure(),
      'no BME280 at 0x77 on the simulated bus; check wiring or try 0x76');
    assert.deepEqual(await status,
      { fill: 'red', shape: 'ring', text: 'bme280-sensor.status.no-device' });
    simulated.sharedSimulatedBus().attach(0x77, new models.Bme280Model());
    isReading((await output()).payload);
  });

  test('a chip that is not a BME280', async () => {
    simulated.sharedSimulatedBus().attach(0x76, new models.Bme280Model({ chipId: 0x61 }));
    await helper.load(sensorNode, flow({}));
    assert.match(await failure(), /^the chip at 0x76 on the simulated bus has id 0x61/);
  });

  test('a sensor that vanishes between readings and comes back', async () => {
    await helper.load(sensorNode, flow({}));
    isReading((await output()).payload);
    simulated.sharedSimulatedBus().detach(0x76);
    assert.equal(await failure(),
      'the sensor at 0x76 on the simulated bus stopped answering; check wiring and power');
    simulated.sharedSimulatedBus().attach(0x76, new models.Bme280Model());
    isReading((await output()).payload);
  });

  test('a bus that does not exist', async () => {
    await helper.load(sensorNode, flow({ bus: '97' }));
    assert.equal(await failure(),
      'no I2C bus /dev/i2c-97; enable I2C (raspi-config) or choose the bus the sensor is on');
  });

  const badSettings = [
    { props: { address: '0x42' }, message: 'address must be 0x76, 0x77 or auto' },
    { props: { bus: 'i2c1' }, message: 'bus must be a bus number such as 1, or "simulated"' },
    { props: { osrsP: '3' }, message: 'osrsP must be one of 0, 1, 2, 4, 8, 16' },
    { props: { osrsT: 0 },
      message: 'osrsT must be on (1 or more) while pressure or humidity is on' },
  ];
  for (const c of badSettings) {
    test(`bad settings: ${JSON.stringify(c.props)}`, async () => {
      await helper.load(sensorNode, flow(c.props));
      assert.equal(await failure(), c.message);
    });
  }

  test('a redeploy lets go of the bus', async () => {
    await helper.load(sensorNode, flow({}));
    await output();
    assert.ok(sharedBus.leasedBusKeys().includes('simulated'));
    await helper.unload();
    assert.deepEqual(sharedBus.leasedBusKeys(), []);
    await helper.load(sensorNode, flow({}));
  });
});

describe('Bme280Sensor without Node-RED', () => {
  test('a platform without i2c-bus is reported each time and retried', async () => {
    let attempts = 0;
    const sensor = new Bme280Sensor(
      { bus: 3, address: 0x76, oversampling: { temperature: 1, pressure: 1, humidity: 1 },
        filter: 0 },
      { openHardware: async () => {
        attempts++;
        throw new Bme280Error('no-driver');
      } });
    for (let i = 0; i < 2; i++) {
      await assert.rejects(sensor.read(), { name: 'Bme280Error', kind: 'no-driver' });
    }
    assert.equal(attempts, 2);
    await sensor.close();
  });
});

describe('the locale file', () => {
  const catalogue = JSON.parse(readFileSync(
    join(root, 'nodes/locales/en-US/bme280-sensor.json'), 'utf8')) as
    { 'bme280-sensor': { errors: Record<string, string>; status: Record<string, string> } };
  const { errors, status } = catalogue['bme280-sensor'];
  const details = { bus: '/dev/i2c-1', address: '0x76', chipId: '0x61', property: 'osrsT',
    allowed: '1 or more', detail: 'something' };
  const kinds: Bme280ErrorKind[] = ['no-driver', 'no-bus', 'permission', 'no-device',
    'wrong-chip', 'device-lost', 'timeout', 'io', 'settings'];

  for (const kind of kinds) {
    test(`says the same as the driver for ${kind}`, () => {
      const template = errors[kind];
      assert.ok(template !== undefined && status[kind] !== undefined);
      const subs: Record<string, string> = { ...details, other: errors['try-other']
        ?.replace('__other__', '0x77') ?? '' };
      const text = template.replace(/__(\w+)__/g, (_, name: string) => subs[name] ?? '');
      const error = new Bme280Error(kind, { ...details, other: '0x77' });
      assert.equal(text, error.message);
    });
  }
});
