// The "Device id" option of azure-iot-hub-out: object payloads carry the device id read
// from the TPM, everything else goes as it came, and order is kept.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { IdentityStore } from '../../src/identity';
import { Tpm } from '../../src/tpm2';
import { startHub, type LocalHub, type ReceivedMessage } from '../support/hub';
import { builtNode, helper, type FlowNode } from '../support/node-red';
import { startSwtpm, type Swtpm } from '../support/swtpm';

const DEVICE = 'station-7';
const SLOT = '2';
const EMPTY_SLOT = '3';
// A waiting limit only.
const WAIT_MS = 20_000;

interface Sent {
  payload?: unknown;
  messageId?: unknown;
}

interface InputNode {
  receive(msg: Record<string, unknown>): void;
}

interface EventNode {
  on(event: 'input', listener: (msg: Sent) => void): void;
  on(event: 'call:error', listener: (call: { args: unknown[] }) => void): void;
}

const nodes = [builtNode('tpm-credentials'), builtNode('azure-iot-hub-out')];

describe('azure-iot-hub-out: the device id from the TPM in object payloads', () => {
  let swtpm: Swtpm;
  let hub: LocalHub;

  function flow(options: { addDeviceId?: boolean; slot?: string }): FlowNode[] {
    return [
      { id: 'creds', type: 'tpm-credentials', tpm: swtpm.tcti, slot: options.slot ?? SLOT,
        tokenTtl: '3600' },
      { id: 'out', type: 'azure-iot-hub-out', identity: 'creds', transport: 'amqp',
        queueSize: 10, ca: hub.caPath,
        ...(options.addDeviceId === undefined ? {} : { addDeviceId: options.addDeviceId }),
        wires: [['sink']] },
      { id: 'sink', type: 'helper' },
    ];
  }

  /** Sends each payload in turn and resolves with what came out of the node. */
  async function sendAll(payloads: unknown[]): Promise<Sent[]> {
    const sink = helper.getNode('sink') as EventNode;
    const out = helper.getNode('out') as InputNode & EventNode;
    const delivered: Sent[] = [];
    const finished = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(
        `only ${delivered.length} of ${payloads.length} messages came out`)), WAIT_MS);
      sink.on('input', (msg) => {
        delivered.push(msg);
        if (delivered.length === payloads.length) {
          clearTimeout(timer);
          resolve();
        }
      });
      out.on('call:error', (call) => {
        clearTimeout(timer);
        reject(call.args[0]);
      });
    });
    for (const payload of payloads) out.receive({ payload });
    await finished;
    return delivered;
  }

  function bodies(messages: readonly ReceivedMessage[]): unknown[] {
    return messages.map((m) => m.contentType === 'application/json'
      ? JSON.parse(m.body.toString('utf8')) as unknown : m.body.toString('utf8'));
  }

  before(async () => {
    swtpm = await startSwtpm();
    hub = await startHub();
    const key = hub.addDevice(DEVICE);
    const store = new IdentityStore(Tpm.open(swtpm.tcti));
    await store.provision(Number(SLOT),
      `HostName=${hub.host};DeviceId=${DEVICE};SharedAccessKey=${key}`);
    await store.tpm.close();
    await helper.startServer();
  });
  afterEach(() => helper.unload());
  after(async () => {
    await helper.stopServer();
    await hub.stop();
    await swtpm.destroy();
  });

  test('objects get deviceId; strings and arrays go unchanged, in order', async () => {
    await helper.load(nodes, flow({ addDeviceId: true }));
    const before = hub.messages.length;
    const payloads = [
      { currentTemperature: 21.5 },
      'plain text',
      { currentHumidity: 40, deviceId: 'typed-in-the-flow' },
      [1, 2, 3],
      { currentPressure: 1013.2 },
    ];

    const delivered = await sendAll(payloads);

    const expected = [
      { currentTemperature: 21.5, deviceId: DEVICE },
      'plain text',
      { currentHumidity: 40, deviceId: DEVICE },
      [1, 2, 3],
      { currentPressure: 1013.2, deviceId: DEVICE },
    ];
    const received = hub.messages.slice(before);
    assert.deepEqual(bodies(received), expected);
    assert.ok(received.every((m) => m.deviceId === DEVICE));
    assert.deepEqual(delivered.map((msg) => msg.payload), expected);
    assert.deepEqual(received.map((m) => m.contentType), ['application/json', undefined,
      'application/json', 'application/json', 'application/json']);
    assert.deepEqual(delivered.map((msg) => msg.messageId), received.map((m) => m.messageId));
  });

  test('off by default: an object goes exactly as it came', async () => {
    await helper.load(nodes, flow({}));
    const before = hub.messages.length;
    const delivered = await sendAll([{ currentTemperature: 19 }]);
    assert.deepEqual(bodies(hub.messages.slice(before)), [{ currentTemperature: 19 }]);
    assert.deepEqual(delivered[0]?.payload, { currentTemperature: 19 });
  });

  test('an empty TPM slot fails the message with the reason; nothing is sent', async () => {
    await helper.load(nodes, flow({ addDeviceId: true, slot: EMPTY_SLOT }));
    const before = hub.messages.length;
    // The test runtime has no message catalogue: the text is its key, the reason its cause.
    await assert.rejects(sendAll([{ currentTemperature: 19 }]), (err: Error) => {
      assert.equal(err.message, 'azure-iot-hub-out.errors.device-id');
      assert.match(String((err.cause as Error | undefined)?.message),
        /TPM slot 3 holds no device identity/);
      return true;
    });
    assert.equal(hub.messages.length, before);
  });
});
