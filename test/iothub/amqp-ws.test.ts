import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { NoRetry, errors, results } from 'azure-iot-common';
import { Client, Message } from 'azure-iot-device';
import { AmqpWs } from 'azure-iot-device-amqp';
import { TpmIdentity, withStore } from '../../src/identity';
import { HubClient, buildMessage, type HubClientOptions } from '../../src/iothub';
import {
  AMQP_WS_PROTOCOL, WEBSOCKET_PATH, routeLocalhost443, startHub, type LocalHub,
} from '../support/hub';
import { startSwtpm, type Swtpm } from '../support/swtpm';

// Each failure case must end well before the SDK's slow paths (45 s close timer, 240 s
// retry budget); a test that hits one of those times out instead of passing late.
const FAST = { timeout: 15_000 };

function newKey(): string {
  return randomBytes(32).toString('base64');
}

describe('local IoT Hub over WebSockets, driven by the SDK\'s AmqpWs', () => {
  let hub: LocalHub;
  const clients: Client[] = [];

  before(async () => {
    hub = await startHub();
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await hub.stop();
  });

  /** AmqpWs as an application behind a proxy would set it up, minus the long retries. */
  async function prepare(client: Client, trustHub = true): Promise<Client> {
    clients.push(client);
    const webSocketAgent = hub.webSocketAgent;
    // setOptions applies asynchronously: without the await, open() can race it.
    await client.setOptions(trustHub
      ? { ca: hub.caPem, amqp: { webSocketAgent } } : { amqp: { webSocketAgent } });
    client.setRetryPolicy(new NoRetry());
    return client;
  }

  async function connected(deviceId: string): Promise<Client> {
    const client = await prepare(
      Client.fromConnectionString(hub.wsConnectionString(deviceId), AmqpWs));
    await client.open();
    return client;
  }

  function messagesFrom(deviceId: string): string[] {
    return hub.messages.filter((m) => m.deviceId === deviceId).map((m) => m.body.toString());
  }

  test('a message arrives over the WebSocket with its ids, content type and properties',
    FAST, async () => {
      hub.addDevice('ws-intact', newKey());
      const client = await connected('ws-intact');

      const message = new Message(JSON.stringify({ temperature: 21.5 }));
      message.messageId = 'reading-1';
      message.correlationId = 'batch-7';
      message.contentType = 'application/json';
      message.contentEncoding = 'utf-8';
      message.properties.add('sensor', 'bme280');
      const result = await client.sendEvent(message);

      assert.ok(result instanceof results.MessageEnqueued);
      const received = hub.messages.find((m) => m.deviceId === 'ws-intact');
      assert.ok(received);
      assert.equal(received.transport, 'amqp-ws');
      assert.equal(received.body.toString(), '{"temperature":21.5}');
      assert.equal(received.messageId, 'reading-1');
      assert.equal(received.correlationId, 'batch-7');
      assert.equal(received.contentType, 'application/json');
      assert.equal(received.contentEncoding, 'utf-8');
      assert.deepEqual(received.properties, { sensor: 'bme280' });

      const tokens = hub.putTokens.filter((p) => p.connectionId === received.connectionId);
      assert.deepEqual(tokens.map((p) => [p.accepted, p.deviceId, p.transport]),
        [[true, 'ws-intact', 'amqp-ws']]);
    });

  test('a wrong key is refused by put-token with UnauthorizedError', FAST, async () => {
    hub.addDevice('ws-wrong-key', newKey());
    const forged = hub.wsConnectionString('ws-wrong-key')
      .replace(/SharedAccessKey=.*$/, `SharedAccessKey=${newKey()}`);
    const client = await prepare(Client.fromConnectionString(forged, AmqpWs));

    await assert.rejects(client.open(), errors.UnauthorizedError);

    const attempts = hub.putTokens.filter((p) => p.deviceId === 'ws-wrong-key');
    assert.deepEqual(attempts.map((p) => [p.accepted, p.reason, p.transport]),
      [[false, 'signature does not match', 'amqp-ws']]);
    assert.deepEqual(messagesFrom('ws-wrong-key'), []);
  });

  test('without the hub\'s CA the TLS check fails and no token is sent', FAST, async () => {
    hub.addDevice('ws-no-ca', newKey());
    const client = await prepare(
      Client.fromConnectionString(hub.wsConnectionString('ws-no-ca'), AmqpWs), false);

    await assert.rejects(client.open(), errors.NotConnectedError);
    assert.equal(hub.putTokens.filter((p) => p.deviceId === 'ws-no-ca').length, 0);
  });

  test('throttling rejects with ThrottlingError and the connection stays up', FAST, async () => {
    hub.addDevice('ws-throttled', newKey());
    const client = await connected('ws-throttled');
    const opened = hub.connectionCount;

    hub.throttle(true);
    try {
      await assert.rejects(client.sendEvent(new Message('held back')), errors.ThrottlingError);
    } finally {
      hub.throttle(false);
    }
    await client.sendEvent(new Message('let through'));

    assert.deepEqual(messagesFrom('ws-throttled'), ['let through']);
    assert.equal(hub.connectionCount, opened);
  });

  test('a revoked device loses its rights on the open WebSocket connection', FAST, async () => {
    hub.addDevice('ws-revoked', newKey());
    const client = await connected('ws-revoked');
    await client.sendEvent(new Message('before'));

    hub.revokeDevice('ws-revoked');

    await assert.rejects(client.sendEvent(new Message('after')), errors.UnauthorizedError);
    assert.deepEqual(messagesFrom('ws-revoked'), ['before']);
  });

  test('refuseConnections makes open fail with NotConnectedError, then it opens',
    FAST, async () => {
      hub.addDevice('ws-refused', newKey());
      const client = await prepare(
        Client.fromConnectionString(hub.wsConnectionString('ws-refused'), AmqpWs));
      const refusedBefore = hub.refusedConnections;

      hub.refuseConnections(true);
      try {
        await assert.rejects(client.open(), errors.NotConnectedError);
      } finally {
        hub.refuseConnections(false);
      }
      assert.equal(hub.refusedConnections, refusedBefore + 1);

      await client.open();
      await client.sendEvent(new Message('second try'));
      assert.deepEqual(messagesFrom('ws-refused'), ['second try']);
    });

  test('dropConnections disconnects the client, which reconnects on its next send',
    FAST, async () => {
      hub.addDevice('ws-dropped', newKey());
      const client = await connected('ws-dropped');
      await client.sendEvent(new Message('first'));
      const disconnected = new Promise<void>((resolve) => client.once('disconnect', resolve));

      assert.ok(hub.dropConnections() >= 1);
      await disconnected;
      await client.sendEvent(new Message('second'));

      const carriers = hub.messages.filter((m) => m.deviceId === 'ws-dropped');
      assert.deepEqual(carriers.map((m) => m.transport), ['amqp-ws', 'amqp-ws']);
      assert.notEqual(carriers[0]?.connectionId, carriers[1]?.connectionId);
    });

  // What IoT Hub's endpoint insists on too: the right path and the AMQP subprotocol.
  const refusals: Array<[string, string, string[]]> = [
    ['another path', '/$iothub/other', [AMQP_WS_PROTOCOL]],
    ['no AMQP subprotocol', WEBSOCKET_PATH, ['mqtt']],
  ];
  for (const [name, path, protocols] of refusals) {
    test(`an upgrade with ${name} is refused with 400`, FAST, async () => {
      const opensBefore = hub.connectionCount;
      const socket = new WebSocket(`wss://localhost:${hub.wsPort}${path}`, protocols,
        { ca: hub.caPem });

      const status = await new Promise<number | undefined>((resolve) => {
        socket.once('unexpected-response', (request, response) => {
          resolve(response.statusCode);
          request.destroy();
        });
        socket.once('open', () => {
          resolve(101);
          socket.terminate();
        });
        socket.once('error', () => resolve(undefined));
      });

      assert.equal(status, 400);
      assert.equal(hub.connectionCount, opensBefore);
    });
  }
});

describe('HubClient over amqp-ws with a TPM identity', { timeout: 60_000 }, () => {
  let swtpm: Swtpm;
  let hub: LocalHub;
  let identity: TpmIdentity;
  const clients: HubClient[] = [];
  let restoreRouting = (): void => undefined;

  function open(options: Partial<HubClientOptions> = {}): HubClient {
    const client = new HubClient({
      source: identity, transport: 'amqp-ws', ca: hub.caPem,
      reconnectDelayMs: { initial: 100, max: 400 },
      credentialsBackoffMs: { initial: 300, max: 1000 }, ...options,
    });
    clients.push(client);
    return client;
  }

  function since(count: number): Array<string | undefined> {
    return hub.messages.slice(count).map((m) => m.messageId);
  }

  before(async () => {
    swtpm = await startSwtpm();
    hub = await startHub();
    hub.addDevice('ws-station');
    // HostName without a port: AmqpWs appends :443 itself.
    await withStore(swtpm.tcti, (store) =>
      store.provision(0, hub.wsConnectionString('ws-station')));
    identity = new TpmIdentity({ tpm: swtpm.tcti, slot: 0, tokenTtl: 3600 });

    // HubClient has no option for a WebSocket agent, and AmqpWs always dials port 443:
    // only the port is changed, from inside this test process.
    restoreRouting = routeLocalhost443(hub.wsPort);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  after(async () => {
    restoreRouting();
    await identity.close();
    await hub.stop();
    await swtpm.destroy();
  });

  test('messages arrive over the WebSocket with their properties, signed by the TPM',
    { timeout: 20_000 }, async () => {
      const client = open();
      const before = hub.messages.length;

      await client.send(buildMessage({
        payload: { temperature: 21.5 }, properties: { alert: 'none' },
        messageId: 'ws-1', correlationId: 'c-1',
      }));
      await client.send(buildMessage({ payload: 'plain text', messageId: 'ws-2' }));

      const [json, text] = hub.messages.slice(before);
      assert.equal(json?.deviceId, 'ws-station');
      assert.equal(json?.transport, 'amqp-ws');
      assert.deepEqual(JSON.parse(json?.body.toString() ?? ''), { temperature: 21.5 });
      assert.equal(json?.contentType, 'application/json');
      assert.equal(json?.correlationId, 'c-1');
      assert.deepEqual(json?.properties, { alert: 'none' });
      assert.equal(text?.body.toString('utf8'), 'plain text');
      assert.equal(text?.transport, 'amqp-ws');
      assert.equal(client.provider.tokensMinted, 1);
    });

  test('an expired token: one refresh from the TPM on the same connection, sent once',
    { timeout: 20_000 }, async () => {
      const client = open();
      await client.send(buildMessage({ payload: 'warm-up', messageId: 'ws-warm' }));
      const carrier = hub.messages.at(-1)?.connectionId;
      const before = hub.messages.length;

      hub.expireTokensNow();
      await client.send(buildMessage({ payload: 'after expiry', messageId: 'ws-once' }));

      assert.deepEqual(since(before), ['ws-once']);
      assert.equal(hub.messages.at(-1)?.connectionId, carrier);
      assert.equal(client.provider.tokensMinted, 2);
      assert.equal(client.stats.connects, 1);
      const refused = hub.rejections.filter((r) => r.connectionId === carrier);
      assert.deepEqual(refused.map((r) => r.condition), ['amqp:unauthorized-access']);
    });

  test('a dropped connection reconnects and loses nothing, in order', { timeout: 20_000 },
    async () => {
      const client = open();
      await client.send(buildMessage({ payload: 'warm-up', messageId: 'ws-drop-warm' }));
      const first = hub.messages.at(-1)?.connectionId;
      const before = hub.messages.length;

      assert.ok(hub.dropConnections() >= 1);
      const ids = Array.from({ length: 20 }, (_, i) => `ws-drop-${i}`);
      const sends = ids.map((messageId) =>
        client.send(buildMessage({ payload: { messageId }, messageId })));
      await Promise.all(sends);

      assert.deepEqual(since(before), ids);
      const carriers = new Set(hub.messages.slice(before).map((m) => m.connectionId));
      assert.equal(carriers.size, 1);
      assert.ok(!carriers.has(first ?? -1));
      assert.deepEqual([...new Set(hub.messages.slice(before).map((m) => m.transport))],
        ['amqp-ws']);
      assert.equal(client.stats.connects, 2);
    });
});
