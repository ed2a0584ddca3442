// The azure-iot-hub-out node in the real Node-RED runtime, with the real Azure SDK, the
// local AMQP hub and a private swtpm. The nodes come from dist/, so they hold their own
// TPM connection: every slot is provisioned before the first flow loads.
import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { withStore } from '../../src/identity';
import { startHub, type LocalHub, type ReceivedMessage } from '../support/hub';
import {
  builtNode, helper, loggedText, type FlowNode, type NodeModule,
} from '../support/node-red';
import { startNodeRed } from '../support/node-red-process';
import { freePort } from '../support/ports';
import { startSwtpm, type Swtpm } from '../support/swtpm';
import { until, wait } from '../support/until';

interface NodeMessage {
  payload?: unknown;
  messageId?: unknown;
  error?: { message?: string; source?: { id?: string } };
  [key: string]: unknown;
}

interface InputNode extends EventEmitter {
  receive(msg: NodeMessage): void;
}

interface StatusEvent {
  id: string;
  status: { fill?: string; shape?: string; text?: string };
}

/** What the flow saw: outputs, Catch and Complete messages, and status changes. */
interface Seen {
  delivered: NodeMessage[];
  caught: NodeMessage[];
  completed: NodeMessage[];
  statuses: StatusEvent[];
  /** For each output, whether the hub had the message by then. */
  deliveredAfterAcceptance: boolean[];
  completedAfterAcceptance: boolean[];
}

interface Redeployer {
  setFlows(flow: FlowNode[], type: 'full' | 'flows' | 'nodes'): Promise<void>;
}

const ROOT = join(__dirname, '../..');
const redRequire = createRequire(require.resolve('node-red'));
const coreNode = (file: string): NodeModule =>
  redRequire(`@node-red/nodes/core/common/${file}`) as NodeModule;
const runtimeEvents = (redRequire('@node-red/util') as { events: EventEmitter }).events;

const NODES: NodeModule[] = [
  builtNode('tpm-credentials'), builtNode('azure-iot-hub-out'),
  coreNode('25-catch.js'), coreNode('24-complete.js'),
];
// The module instances the nodes above loaded from dist/, not this file's src/ ones.
const distRequire = createRequire(join(ROOT, 'dist', 'nodes', 'azure-iot-hub-out.js'));
const dist = {
  iothub: distRequire('../src/iothub') as { openHubClients(): number },
  identity: distRequire('../src/identity') as { openConnections(): number },
};

const DEVICES = ['hub-out-1', 'hub-out-2', 'revoked-device', 'quiet-device'] as const;

describe('azure-iot-hub-out in Node-RED against the local hub', { timeout: 120_000 }, () => {
  let swtpm: Swtpm;
  let hub: LocalHub;
  const keys: string[] = [];
  let seen: Seen;
  const watched = new WeakSet<object>();

  function credentials(id: string, slot: number): FlowNode {
    return { id, type: 'tpm-credentials', tpm: swtpm.tcti, slot: String(slot), tokenTtl: '3600' };
  }

  function outNode(id: string, identity: string, extra: Record<string, unknown> = {}): FlowNode {
    return { id, type: 'azure-iot-hub-out', z: 'tab', name: id, identity, transport: 'amqp',
      queueSize: '1000', ca: hub.caPath, wires: [['delivered']], ...extra };
  }

  /** A tab with Catch and Complete nodes around the given out nodes. */
  function flowOf(...nodes: FlowNode[]): FlowNode[] {
    const outs = nodes.filter((n) => n.type === 'azure-iot-hub-out').map((n) => n.id);
    // A node without a position would be taken for a config node.
    const placed = (node: FlowNode): FlowNode => ({ x: 100, y: 100, ...node });
    return [
      { id: 'tab', type: 'tab', label: 'hub out' },
      { id: 'catch', type: 'catch', z: 'tab', scope: null, uncaught: false,
        wires: [['caught']] },
      { id: 'complete', type: 'complete', z: 'tab', scope: outs, uncaught: false,
        wires: [['completed']] },
      ...nodes,
      { id: 'delivered', type: 'helper', z: 'tab' },
      { id: 'caught', type: 'helper', z: 'tab' },
      { id: 'completed', type: 'helper', z: 'tab' },
    ].map((node) => ('z' in node ? placed(node) : node));
  }

  const inHub = (msg: NodeMessage): boolean =>
    hub.messages.some((m) => m.messageId !== undefined && m.messageId === msg.messageId);

  /** Listens on the helper nodes of the running flow; after a full redeploy, the new ones. */
  function watch(): void {
    const on = (id: string, handler: (msg: NodeMessage) => void): void => {
      const node = helper.getNode(id) as InputNode | null;
      if (!node || watched.has(node)) return;
      watched.add(node);
      node.on('input', handler);
    };
    on('delivered', (msg) => {
      seen.deliveredAfterAcceptance.push(inHub(msg));
      seen.delivered.push(msg);
    });
    on('caught', (msg) => seen.caught.push(msg));
    on('completed', (msg) => {
      seen.completedAfterAcceptance.push(inHub(msg));
      seen.completed.push(msg);
    });
  }

  async function load(flow: FlowNode[]): Promise<void> {
    await helper.load(NODES, flow);
    watch();
  }

  function send(id: string, msg: NodeMessage): void {
    const node = helper.getNode(id) as InputNode | null;
    assert.ok(node, `node ${id} is not running`);
    node.receive(msg);
  }

  function statusesOf(id: string): StatusEvent['status'][] {
    return seen.statuses.filter((s) => s.id === id).map((s) => s.status);
  }

  function errorsLoggedBy(id: string): string[] {
    return helper.log().getCalls()
      .map((call) => call.args[0])
      .filter((a) => a?.id === id && a.level === 20)
      .map((a) => String(a?.msg));
  }

  const since = (count: number): ReceivedMessage[] => hub.messages.slice(count);
  const bodyOf = (m: ReceivedMessage | undefined): unknown =>
    JSON.parse(m?.body.toString('utf8') ?? 'null');
  const onStatus = (event: StatusEvent): void => {
    seen.statuses.push(event);
  };

  before(async () => {
    swtpm = await startSwtpm();
    hub = await startHub();
    for (const [slot, device] of DEVICES.entries()) {
      keys.push(hub.addDevice(device));
      await withStore(swtpm.tcti, (store) => store.provision(slot, hub.connectionString(device)));
    }
    await helper.startServer();
    runtimeEvents.on('node-status', onStatus);
  });

  afterEach(async () => {
    // Everything Node-RED logged and every message the flow saw: no key, no token.
    try {
      const text = [loggedText(), ...seen.caught.map((m) => m.error?.message ?? '')].join('\n');
      for (const key of keys) assert.ok(!text.includes(key), 'a device key was logged');
      assert.ok(!/SharedAccessSignature|SharedAccessKey|[?&]sig=/.test(text),
        'a secret was logged');
    } finally {
      await helper.unload();
      hub.refuseConnections(false);
    }
  });

  after(async () => {
    runtimeEvents.off('node-status', onStatus);
    await helper.stopServer();
    await hub.stop();
    await swtpm.destroy();
  });

  function fresh(): void {
    seen = { delivered: [], caught: [], completed: [], statuses: [],
      deliveredAfterAcceptance: [], completedAfterAcceptance: [] };
  }

  test('messages arrive intact; the output carries msg.messageId once the hub has it',
    { timeout: 20_000 }, async () => {
      fresh();
      await load(flowOf(credentials('creds', 0), outNode('out', 'creds')));
      const before = hub.messages.length;

      send('out', { payload: { temperature: 21.5 }, properties: { alert: 'none', level: 3 },
        messageId: 'm-1', correlationId: 'c-1' });
      send('out', { payload: 'plain text', topic: 'kept' });
      await until(() => seen.completed.length === 2, 'two completions');

      const [json, text] = since(before);
      assert.equal(since(before).length, 2);
      assert.equal(json?.deviceId, 'hub-out-1');
      assert.deepEqual(bodyOf(json), { temperature: 21.5 });
      assert.equal(json?.contentType, 'application/json');
      assert.equal(json?.contentEncoding, 'utf-8');
      assert.equal(json?.messageId, 'm-1');
      assert.equal(json?.correlationId, 'c-1');
      assert.deepEqual(json?.properties, { alert: 'none', level: '3' });
      assert.equal(text?.body.toString('utf8'), 'plain text');
      assert.equal(text?.deviceId, 'hub-out-1');

      await until(() => seen.delivered.length === 2, 'two outputs');
      assert.deepEqual(seen.delivered.map((m) => m.messageId), ['m-1', text?.messageId]);
      assert.match(String(seen.delivered[1]?.messageId), /^[0-9a-f-]{36}$/);
      assert.equal(seen.delivered[1]?.['topic'], 'kept');
      assert.deepEqual(seen.deliveredAfterAcceptance, [true, true]);
      assert.deepEqual(seen.completedAfterAcceptance, [true, true]);
      assert.deepEqual(seen.caught, []);
      // Sending and connected are coalesced into one status update a moment later.
      await until(() => statusesOf('out').at(-1)?.fill === 'green', 'the connected status');
      assert.deepEqual(statusesOf('out').at(-1), { fill: 'green', shape: 'dot',
        text: 'azure-iot-hub-out.status.connected' });
    });

  test('done() waits for the hub: nothing completes while it is unreachable',
    { timeout: 30_000 }, async () => {
      fresh();
      hub.refuseConnections(true);
      await load(flowOf(credentials('creds', 0), outNode('out', 'creds')));

      send('out', { payload: 'held', messageId: 'held-1' });
      await until(() => hub.refusedConnections > 0, 'a refused connection');
      await wait(1500);
      assert.equal(seen.completed.length, 0);
      assert.equal(seen.delivered.length, 0);
      assert.deepEqual(seen.caught, []);
      assert.equal(statusesOf('out').at(-1)?.fill, 'red');

      hub.refuseConnections(false);
      await until(() => seen.completed.length === 1, 'the completion', 15_000);
      assert.deepEqual(seen.completedAfterAcceptance, [true]);
      assert.equal(hub.messages.filter((m) => m.messageId === 'held-1').length, 1);
    });

  test('an expired token: one refresh from the TPM, one retry, the message arrives once',
    { timeout: 20_000 }, async () => {
      fresh();
      await load(flowOf(credentials('creds', 0), outNode('out', 'creds')));
      send('out', { payload: 'warm-up' });
      await until(() => seen.completed.length === 1, 'the warm-up');

      hub.expireTokensNow();
      const puts = hub.putTokens.length;
      const connections = hub.connectionCount;
      const rejected = hub.rejections.length;
      send('out', { payload: 'after expiry', messageId: 'once' });
      await until(() => seen.completed.length === 2 || seen.caught.length > 0, 'the retry');

      assert.deepEqual(seen.caught, []);
      assert.equal(hub.messages.filter((m) => m.messageId === 'once').length, 1);
      assert.equal(hub.rejections.length - rejected, 1, 'one refused send');
      const newPuts = hub.putTokens.slice(puts);
      assert.deepEqual(newPuts.map((p) => p.accepted), [true], 'one fresh token');
      assert.equal(hub.connectionCount, connections, 'no reconnect');
      assert.deepEqual(seen.delivered.map((m) => m.messageId).slice(1), ['once']);
    });

  test('a revoked key fails through done(err) with the reason and a red status, no loop',
    { timeout: 20_000 }, async () => {
      fresh();
      await load(flowOf(credentials('creds', 2), outNode('out', 'creds')));
      send('out', { payload: 'ok' });
      await until(() => seen.completed.length === 1, 'the first message');

      hub.revokeDevice('revoked-device');
      const puts = hub.putTokens.length;
      send('out', { payload: 'refused', messageId: 'refused-1' });
      await until(() => seen.caught.length === 1, 'the error');
      const reason = seen.caught[0]?.error?.message ?? '';
      assert.match(reason, /IoT Hub refused the device's credentials, also with a fresh token/);
      assert.match(reason, /check that the key in the TPM is the device's current key/);
      assert.equal(seen.caught[0]?.error?.source?.id, 'out');
      const status = statusesOf('out').at(-1);
      assert.equal(status?.fill, 'red');
      assert.equal(status?.shape, 'dot');
      assert.match(status?.text ?? '',
        /^azure-iot-hub-out\.status\.error: credentials refused; next try in \d+ s$/);

      // Backing off: the next message fails at once and the hub hears nothing more.
      const putsAfter = hub.putTokens.length;
      const connections = hub.connectionCount;
      assert.ok(putsAfter - puts <= 4, `put-tokens: ${putsAfter - puts}`);
      send('out', { payload: 'during back-off' });
      await until(() => seen.caught.length === 2, 'the second error');
      assert.match(seen.caught[1]?.error?.message ?? '', /not trying again for \d+ s/);
      await wait(2000);
      assert.equal(hub.putTokens.length, putsAfter);
      assert.equal(hub.connectionCount, connections);
      assert.equal(seen.caught.length, 2);
      assert.equal(seen.delivered.length, 1);
      assert.equal(seen.completed.length, 1);
      assert.equal(hub.messages.filter((m) => m.messageId === 'refused-1').length, 0);
    });

  test('an outage of several seconds loses nothing and keeps order', { timeout: 40_000 },
    async () => {
      fresh();
      await load(flowOf(credentials('creds', 0), outNode('out', 'creds')));
      send('out', { payload: { i: -1 } });
      await until(() => seen.completed.length === 1, 'the warm-up');

      const before = hub.messages.length;
      hub.refuseConnections(true);
      hub.dropConnections();
      for (let i = 0; i < 30; i++) send('out', { payload: { i } });
      await until(() => statusesOf('out').some((s) => /disconnected/.test(s.text ?? '')),
        'the disconnected status');
      await wait(3000);
      assert.equal(seen.completed.length, 1);
      hub.refuseConnections(false);

      await until(() => seen.completed.length === 31, 'every message', 20_000);
      assert.deepEqual(since(before).map(bodyOf), Array.from({ length: 30 }, (_, i) => ({ i })));
      assert.deepEqual(seen.delivered.slice(1).map((m) => m.payload),
        Array.from({ length: 30 }, (_, i) => ({ i })));
      assert.deepEqual(seen.caught, []);
    });

  test('a full queue fails the new message through done(err), the others go later',
    { timeout: 30_000 }, async () => {
      fresh();
      hub.refuseConnections(true);
      await load(flowOf(credentials('creds', 0), outNode('out', 'creds', { queueSize: '3' })));
      const before = hub.messages.length;

      for (let i = 0; i < 4; i++) send('out', { payload: { i } });
      await until(() => seen.caught.length === 1, 'the queue-full error');
      assert.match(seen.caught[0]?.error?.message ?? '',
        /^QueueFullError: 3 messages are already waiting for IoT Hub .*; this one was not/);
      assert.deepEqual(seen.caught[0]?.payload, { i: 3 });
      assert.equal(seen.completed.length, 0);

      hub.refuseConnections(false);
      await until(() => seen.completed.length === 3, 'the queued messages', 15_000);
      assert.deepEqual(since(before).map(bodyOf), [{ i: 0 }, { i: 1 }, { i: 2 }]);
      assert.equal(seen.caught.length, 1);
    });

  test('an empty queue size means the default queue, not a queue of one',
    { timeout: 30_000 }, async () => {
      fresh();
      hub.refuseConnections(true);
      await load(flowOf(credentials('creds', 0), outNode('out', 'creds', { queueSize: '' })));
      const before = hub.messages.length;

      for (let i = 0; i < 5; i++) send('out', { payload: { i } });
      await until(() => hub.refusedConnections > 0, 'a refused connection');
      await wait(200);
      assert.deepEqual(seen.caught.map((m) => m.error?.message), []);

      hub.refuseConnections(false);
      await until(() => seen.completed.length === 5, 'the queued messages', 15_000);
      assert.deepEqual(since(before).map(bodyOf), Array.from({ length: 5 }, (_, i) => ({ i })));
    });

  test('oversized and circular payloads fail through done(err); nothing reaches the hub',
    { timeout: 20_000 }, async () => {
      fresh();
      await load(flowOf(credentials('creds', 0), outNode('out', 'creds')));
      const before = hub.messages.length;
      const connections = hub.connectionCount;
      const circular: Record<string, unknown> = { a: 1 };
      circular['self'] = circular;

      send('out', { payload: 'x'.repeat(256 * 1024 + 1) });
      send('out', { payload: circular });
      send('out', { payload: { ok: true }, properties: { nested: { no: 1 } } });
      await until(() => seen.caught.length === 3, 'three errors');
      const reasons = seen.caught.map((m) => m.error?.message ?? '');
      assert.match(reasons[0] ?? '', /message is 262145 bytes; IoT Hub accepts at most 262144/);
      assert.match(reasons[1] ?? '', /msg.payload cannot be sent as JSON: .*circular/i);
      assert.match(reasons[2] ?? '', /msg.properties.nested must be a string/);
      assert.deepEqual(statusesOf('out').at(-1), { fill: 'red', shape: 'ring',
        text: 'azure-iot-hub-out.status.refused' });
      await wait(200);
      assert.equal(hub.messages.length, before);
      assert.equal(hub.connectionCount, connections, 'no connection for messages never sent');
      assert.equal(seen.completed.length, 0);
      assert.equal(seen.delivered.length, 0);

      // The node still sends what it can.
      send('out', { payload: { ok: true }, messageId: 'after-bad' });
      await until(() => seen.completed.length === 1, 'the good message');
      assert.deepEqual(since(before).map((m) => m.messageId), ['after-bad']);
    });

  test('50 redeploys leak no listener, client or connection; each message arrives once',
    { timeout: 90_000 }, async () => {
      fresh();
      const redeployer = helper as unknown as Redeployer;
      const flow = (name: string): FlowNode[] =>
        flowOf(credentials('creds', 0), outNode('out', 'creds', { name }));
      await load(flow('deploy 0'));
      send('out', { payload: 'warm-up', messageId: 'deploy-0' });
      await until(() => seen.completed.length === 1, 'the first message');

      const snapshot = (): Record<string, number> => Object.fromEntries(
        process.eventNames().map((e) => [String(e), process.listenerCount(e)]));
      // The hub runs in this process: each connection is two sockets here.
      const sockets = (): number => process.getActiveResourcesInfo()
        .filter((r) => r === 'TCPSocketWrap').length;
      const listenersBefore = snapshot();
      const eventsBefore = runtimeEvents.eventNames()
        .map((e) => `${String(e)}=${runtimeEvents.listenerCount(e)}`);
      const socketsBefore = sockets();
      const connectionsBefore = hub.connectionCount;
      const before = hub.messages.length;

      const cycles = 50;
      for (let i = 1; i <= cycles; i++) {
        // Alternately everything, and only the out node (its name changes each time).
        await redeployer.setFlows(flow(`deploy ${i}`), i % 2 ? 'nodes' : 'full');
        watch();
        send('out', { payload: { i }, messageId: `deploy-${i}` });
        await until(() => seen.completed.length === i + 1, `the message of deploy ${i}`);
      }
      for (let i = 0; i < 20; i++) send('out', { payload: { after: i } });
      await until(() => seen.completed.length === cycles + 21, 'the messages after redeploys');
      await wait(200);

      const ids = since(before).map((m) => m.messageId);
      assert.equal(ids.length, cycles + 20, 'each message exactly once');
      assert.deepEqual(ids.slice(0, cycles), Array.from({ length: cycles }, (_, i) =>
        `deploy-${i + 1}`));
      assert.deepEqual(since(before + cycles).map(bodyOf),
        Array.from({ length: 20 }, (_, i) => ({ after: i })));
      assert.equal(seen.delivered.length, cycles + 21);
      assert.deepEqual(seen.caught, []);

      assert.deepEqual(snapshot(), listenersBefore);
      assert.deepEqual(runtimeEvents.eventNames()
        .map((e) => `${String(e)}=${runtimeEvents.listenerCount(e)}`), eventsBefore);
      assert.equal(dist.iothub.openHubClients(), 1);
      assert.equal(dist.identity.openConnections(), 1);
      assert.ok(hub.connectionCount - connectionsBefore <= cycles,
        `connections opened: ${hub.connectionCount - connectionsBefore}`);
      await until(() => sockets() <= socketsBefore, 'the old connections closed', 5000);

      await helper.unload();
      assert.equal(dist.iothub.openHubClients(), 0);
      assert.equal(dist.identity.openConnections(), 0);
      await until(() => sockets() < socketsBefore, 'the last connection closed', 5000);
    });

  test('two devices in one flow never mix', { timeout: 20_000 }, async () => {
    fresh();
    await load(flowOf(credentials('creds-a', 0), credentials('creds-b', 1),
      outNode('out-a', 'creds-a'), outNode('out-b', 'creds-b')));
    const before = hub.messages.length;

    for (let i = 0; i < 20; i++) {
      const from = i % 2 ? 'b' : 'a';
      send(`out-${from}`, { payload: { from, i } });
    }
    await until(() => seen.completed.length === 20, 'twenty completions');
    const got = since(before).map((m) => ({ deviceId: m.deviceId, ...(bodyOf(m) as object) }));
    assert.equal(got.length, 20);
    for (const message of got) {
      const expected = (message as { from?: string }).from === 'a' ? 'hub-out-1' : 'hub-out-2';
      assert.equal(message.deviceId, expected, JSON.stringify(message));
    }
    assert.equal(got.filter((m) => m.deviceId === 'hub-out-1').length, 10);
    assert.equal(dist.iothub.openHubClients(), 2);
    assert.deepEqual(seen.caught, []);
  });

  for (const [what, identity] of [['an unknown', 'no-such-node'], ['no', '']] as const) {
    test(`${what} config node: red status, an error at deploy and done(err), no crash`,
      { timeout: 20_000 }, async () => {
        fresh();
        const connections = hub.connectionCount;
        await load(flowOf(credentials('creds', 0), outNode('out', identity)));

        assert.deepEqual(statusesOf('out').at(-1), { fill: 'red', shape: 'dot',
          text: 'azure-iot-hub-out.status.not-configured' });
        assert.deepEqual(errorsLoggedBy('out'), ['azure-iot-hub-out.errors.no-identity']);
        send('out', { payload: 'nowhere' });
        await until(() => seen.caught.length === 1, 'the error');
        assert.equal(seen.caught[0]?.error?.message,
          'Error: azure-iot-hub-out.errors.no-identity');
        assert.equal(seen.completed.length, 0);
        assert.equal(dist.iothub.openHubClients(), 0);
        assert.equal(hub.connectionCount, connections);
      });
  }

  test('two tpm-credentials nodes for one device: a warning, since IoT Hub keeps one',
    { timeout: 20_000 }, async () => {
      fresh();
      await load(flowOf(credentials('creds', 0), credentials('same-slot', 0),
        outNode('a', 'creds'), outNode('b', 'same-slot')));
      send('a', { payload: 'a' });
      send('b', { payload: 'b' });
      await until(() => seen.completed.length === 2, 'both completions');
      const warnings = helper.log().getCalls().map((call) => call.args[0])
        .filter((a) => (a?.id === 'a' || a?.id === 'b') && a.level === 30)
        .map((a) => String(a?.msg));
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0] ?? '',
        /sends as localhost:\d+\/hub-out-1\. IoT Hub keeps one connection per device/);
    });

  test('On disk in a Node-RED without a user directory: a warning, and sending still works',
    { timeout: 20_000 }, async () => {
      fresh();
      await load(flowOf(credentials('creds', 0), outNode('out', 'creds', { keepOnDisk: true })));
      const warnings = helper.log().getCalls().map((call) => call.args[0])
        .filter((a) => a?.id === 'out' && a.level === 30).map((a) => String(a?.msg));
      assert.deepEqual(warnings, ['azure-iot-hub-out.errors.no-user-dir']);
      send('out', { payload: 'memory only', messageId: 'memory-only' });
      await until(() => seen.completed.length === 1, 'the completion');
      assert.ok(hub.messages.some((m) => m.messageId === 'memory-only'));
    });

  test('a CA path that cannot be read: a clear error at deploy and for each message',
    { timeout: 20_000 }, async () => {
      fresh();
      const connections = hub.connectionCount;
      await load(flowOf(credentials('creds', 0),
        outNode('out', 'creds', { ca: '/nonexistent/hub-ca.pem' })));

      assert.equal(statusesOf('out').at(-1)?.fill, 'red');
      const logged = errorsLoggedBy('out');
      assert.equal(logged.length, 1);
      send('out', { payload: 'untrusted' });
      await until(() => seen.caught.length === 1, 'the error');
      assert.equal(seen.caught[0]?.error?.message, `Error: ${logged[0] ?? ''}`);
      assert.equal(dist.iothub.openHubClients(), 0);
      assert.equal(hub.connectionCount, connections);
    });

  test('a CA that did not sign the hub: red status, nothing sent, no crash',
    { timeout: 30_000 }, async () => {
      fresh();
      const other = await startHub();
      try {
        const before = hub.messages.length;
        await load(flowOf(credentials('creds', 0),
          outNode('out', 'creds', { ca: other.caPath })));
        send('out', { payload: 'untrusted' });
        await until(() => statusesOf('out').some((s) => /disconnected/.test(s.text ?? '')),
          'the disconnected status');
        const status = statusesOf('out').find((s) => /disconnected/.test(s.text ?? ''));
        assert.equal(status?.fill, 'red');
        assert.match(status?.text ?? '', /retrying in \d+ s/);
        assert.equal(hub.messages.length, before);
        assert.equal(seen.completed.length, 0);
        assert.equal(seen.delivered.length, 0);
      } finally {
        await other.stop();
      }
    });

  test('in a real Node-RED the configuration errors read in plain English',
    { timeout: 60_000 }, async () => {
      fresh();
      // A TPM nobody listens on: this Node-RED must not take the test's swtpm.
      const nowhere = `swtpm:host=127.0.0.1,port=${await freePort()}`;
      const caPath = join(tmpdir(), 'no-such-dir', 'hub-ca.pem');
      const nodeRed = await startNodeRed({ flows: [
        { id: 'tab', type: 'tab', label: 'errors' },
        { id: 'creds', type: 'tpm-credentials', tpm: nowhere, slot: '0', tokenTtl: '3600' },
        { id: 'inject', type: 'inject', z: 'tab', x: 100, y: 100, once: true, onceDelay: 0.5,
          repeat: '', payload: 'x', payloadType: 'str', topic: '', props: [{ p: 'payload' }],
          wires: [['no-identity', 'bad-ca']] },
        { id: 'no-identity', type: 'azure-iot-hub-out', z: 'tab', x: 300, y: 100,
          identity: '', transport: 'amqp', queueSize: '10', ca: '', wires: [[]] },
        { id: 'bad-ca', type: 'azure-iot-hub-out', z: 'tab', x: 300, y: 200,
          identity: 'creds', transport: 'amqp', queueSize: '10', ca: caPath, wires: [[]] },
      ], env: { DEBUG: '' } });
      try {
        const noIdentity = 'No device identity: choose a tpm-credentials config node in ' +
          "this node's Device field";
        const badCa = `Cannot read the trusted CA file ${caPath} (ENOENT: no such file or ` +
          'directory';
        const count = (text: string): number => nodeRed.log().split(text).length - 1;
        // Once at deploy, once more for the injected message.
        await until(() => count(noIdentity) >= 2 && count(badCa) >= 2,
          'both errors twice', 30_000);
        assert.match(nodeRed.log(), /correct the path or clear the field/);
        assert.doesNotMatch(nodeRed.log(), /prints SAS tokens/);
        const res = await fetch(`${nodeRed.url}/flows`);
        assert.equal(res.status, 200, 'Node-RED still answers');
      } finally {
        await nodeRed.destroy();
      }
    });

  test('a DEBUG setting under which the AMQP library prints tokens is named, once',
    { timeout: 60_000 }, async () => {
      const nodeRed = await startNodeRed({ env: { DEBUG: 'azure*,rhea:raw' }, flows: [
        { id: 'tab', type: 'tab', label: 'debug' },
        { id: 'a', type: 'azure-iot-hub-out', z: 'tab', x: 300, y: 100,
          identity: '', transport: 'amqp', queueSize: '10', ca: '', wires: [[]] },
        { id: 'b', type: 'azure-iot-hub-out', z: 'tab', x: 300, y: 200,
          identity: '', transport: 'amqp', queueSize: '10', ca: '', wires: [[]] },
      ] });
      try {
        await nodeRed.waitForLog(/Started flows/);
        const warning = 'DEBUG switches on rhea:raw: the AMQP library then prints SAS tokens ' +
          'into this log';
        assert.equal(nodeRed.log().split(warning).length - 1, 1, nodeRed.log());
        assert.match(nodeRed.log(), /\[warn\] DEBUG switches on/);
      } finally {
        await nodeRed.destroy();
      }
    });
});
