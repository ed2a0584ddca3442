import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import {
  AuthenticationType, NoRetry, SharedAccessSignature, errors, results,
  type AuthenticationProvider, type Callback, type TransportConfig,
} from 'azure-iot-common';
import { Client, Message } from 'azure-iot-device';
import { Amqp } from 'azure-iot-device-amqp';
import { startHub, type LocalHub } from '../support/hub';
import { checkToken, parseResource, parseSharedAccessSignature } from '../support/hub/sas';

// Each failure case must end well before the SDK's slow paths (45 s close timer, 240 s
// retry budget); a test that hits one of those times out instead of passing late.
const FAST = { timeout: 15_000 };

/** Hands the SDK one fixed credential set: lets a test pair a device id with any token. */
class FixedCredentials extends EventEmitter implements AuthenticationProvider {
  readonly type = AuthenticationType.Token;

  constructor(private readonly credentials: TransportConfig) {
    super();
  }

  getDeviceCredentials(callback: Callback<TransportConfig>): void;
  getDeviceCredentials(): Promise<TransportConfig>;
  getDeviceCredentials(callback?: Callback<TransportConfig>): Promise<TransportConfig> | void {
    if (!callback) return Promise.resolve(this.credentials);
    callback(undefined, this.credentials);
  }

  /** The AMQP transport calls this on every disconnect, although the interface omits it. */
  stop(): void {
    return undefined;
  }
}

/** The newest entry that matches (the lib target predates Array.prototype.findLast). */
function lastOf<T>(items: readonly T[], matches: (item: T) => boolean): T | undefined {
  return items.filter(matches).at(-1);
}

function newKey(): string {
  return randomBytes(32).toString('base64');
}

function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

function deviceToken(host: string, deviceId: string, key: string, expiry: number): string {
  const resource = encodeURIComponent(`${host}/devices/${deviceId}`);
  return SharedAccessSignature.create(resource, '', key, expiry).toString();
}

describe('local IoT Hub, driven by the real Azure SDK over AMQP', () => {
  let hub: LocalHub;
  const clients: Client[] = [];

  before(async () => {
    hub = await startHub();
  });

  after(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await hub.stop();
  });

  /** The SDK as an application would set it up for this hub, minus the long retries. */
  async function prepare(client: Client): Promise<Client> {
    clients.push(client);

    // setOptions reads `ca` as a file first and applies it asynchronously: without the
    // await, open() can race it and fail the certificate check.
    await client.setOptions({ ca: hub.caPem });
    client.setRetryPolicy(new NoRetry());
    return client;
  }

  async function connected(deviceId: string, moduleId?: string): Promise<Client> {
    const connectionString = hub.connectionString(deviceId, moduleId);
    const client = await prepare(Client.fromConnectionString(connectionString, Amqp));
    await client.open();
    return client;
  }

  function messagesFrom(deviceId: string): string[] {
    return hub.messages.filter((m) => m.deviceId === deviceId).map((m) => m.body.toString());
  }

  test('a message arrives with its body, ids, content type and properties intact', async () => {
    hub.addDevice('intact', newKey());
    const client = await connected('intact');

    const message = new Message(JSON.stringify({ temperature: 21.5 }));
    message.messageId = 'reading-1';
    message.correlationId = 'batch-7';
    message.contentType = 'application/json';
    message.contentEncoding = 'utf-8';
    message.properties.add('sensor', 'bme280');
    message.properties.add('alert', 'false');
    const result = await client.sendEvent(message);

    assert.ok(result instanceof results.MessageEnqueued);
    const received = hub.messages.find((m) => m.deviceId === 'intact');
    assert.ok(received);
    assert.equal(received.moduleId, undefined);
    assert.equal(received.body.toString(), '{"temperature":21.5}');
    assert.equal(received.messageId, 'reading-1');
    assert.equal(received.correlationId, 'batch-7');
    assert.equal(received.contentType, 'application/json');
    assert.equal(received.contentEncoding, 'utf-8');
    assert.deepEqual(received.properties, { sensor: 'bme280', alert: 'false' });

    const tokens = hub.putTokens.filter((p) => p.connectionId === received.connectionId);
    assert.equal(tokens.length, 1);
    assert.equal(tokens[0]?.accepted, true);
    assert.equal(tokens[0]?.deviceId, 'intact');
  });

  test('ten messages in flight on one connection all arrive, in order', async () => {
    hub.addDevice('inflight', newKey());
    const client = await connected('inflight');

    const bodies = Array.from({ length: 10 }, (_, i) => `m${i}`);
    const sent = await Promise.all(bodies.map((body) => client.sendEvent(new Message(body))));

    assert.equal(sent.length, 10);
    assert.deepEqual(messagesFrom('inflight'), bodies);
    const connections = new Set(hub.messages
      .filter((m) => m.deviceId === 'inflight').map((m) => m.connectionId));
    assert.equal(connections.size, 1);
  });

  test('waitForMessages resolves once enough messages are in', async () => {
    hub.addDevice('waiter', newKey());
    const client = await connected('waiter');
    const before = hub.messages.length;

    const waiting = hub.waitForMessages(before + 2, 10_000);
    await client.sendEvent(new Message('one'));
    await client.sendEvent(new Message('two'));
    const arrived = await waiting;

    assert.equal(arrived.length, before + 2);
    assert.deepEqual(arrived.slice(-2).map((m) => m.body.toString()), ['one', 'two']);
    await assert.rejects(hub.waitForMessages(hub.messages.length + 1, 50), /expected/);
  });

  test('a wrong key is refused by put-token with UnauthorizedError', FAST, async () => {
    hub.addDevice('wrong-key', newKey());
    const forged = hub.connectionString('wrong-key')
      .replace(/SharedAccessKey=.*$/, `SharedAccessKey=${newKey()}`);
    const client = await prepare(Client.fromConnectionString(forged, Amqp));

    await assert.rejects(client.open(), errors.UnauthorizedError);

    const attempt = lastOf(hub.putTokens, (p) => p.deviceId === 'wrong-key');
    assert.equal(attempt?.accepted, false);
    assert.equal(attempt?.reason, 'signature does not match');
  });

  test('an expired token is refused with UnauthorizedError', FAST, async () => {
    const key = newKey();
    hub.addDevice('expired', key);
    const expiry = unixNow() - 60;
    const token = deviceToken(hub.host, 'expired', key, expiry);
    const client = await prepare(Client.fromSharedAccessSignature(token, Amqp));

    await assert.rejects(client.open(), errors.UnauthorizedError);

    const attempt = lastOf(hub.putTokens, (p) => p.deviceId === 'expired');
    assert.equal(attempt?.accepted, false);
    assert.equal(attempt?.reason, 'token expired');
    assert.equal(attempt?.expiresAt?.getTime(), expiry * 1000);
  });

  test('a valid token for another device cannot send as this device', FAST, async () => {
    hub.addDevice('victim', newKey());
    const key = newKey();
    hub.addDevice('intruder', key);
    const token = deviceToken(hub.host, 'intruder', key, unixNow() + 3600);
    const provider = new FixedCredentials({
      host: hub.host, deviceId: 'victim', sharedAccessSignature: token,
    });
    const client = await prepare(Client.fromAuthenticationProvider(provider, Amqp));

    // The put-token itself is valid (for 'intruder'); the telemetry link for 'victim' is not.
    await client.open();
    await assert.rejects(client.sendEvent(new Message('spoofed')), errors.UnauthorizedError);

    assert.deepEqual(messagesFrom('victim'), []);
    assert.deepEqual(messagesFrom('intruder'), []);
    const refused = lastOf(hub.refusedLinks, (r) => r.address.includes('/victim/'));
    assert.equal(refused?.address, '/devices/victim/messages/events');
    assert.equal(refused?.condition, 'amqp:unauthorized-access');
  });

  test('a token for an unknown device is refused', FAST, async () => {
    const token = deviceToken(hub.host, 'nobody', newKey(), unixNow() + 3600);
    const client = await prepare(Client.fromSharedAccessSignature(token, Amqp));

    await assert.rejects(client.open(), errors.UnauthorizedError);
    assert.equal(lastOf(hub.putTokens, (p) => p.deviceId === 'nobody')?.reason,
      'unknown device or module');
  });

  test('a revoked device loses its connection\'s rights and cannot connect again',
    FAST, async () => {
      hub.addDevice('revoked', newKey());
      const connectionString = hub.connectionString('revoked');
      const client = await connected('revoked');
      await client.sendEvent(new Message('before'));

      hub.revokeDevice('revoked');

      await assert.rejects(client.sendEvent(new Message('after')), errors.UnauthorizedError);
      const again = await prepare(Client.fromConnectionString(connectionString, Amqp));
      await assert.rejects(again.open(), errors.UnauthorizedError);
      assert.deepEqual(messagesFrom('revoked'), ['before']);
    });

  test('throttling rejects with ThrottlingError and the connection stays up', FAST, async () => {
    hub.addDevice('throttled', newKey());
    const client = await connected('throttled');
    const opened = hub.connectionCount;

    hub.throttle(true);
    try {
      await assert.rejects(client.sendEvent(new Message('held back')), errors.ThrottlingError);
    } finally {
      hub.throttle(false);
    }
    await client.sendEvent(new Message('let through'));

    assert.deepEqual(messagesFrom('throttled'), ['let through']);
    assert.equal(hub.connectionCount, opened);
    assert.equal(hub.rejections.at(-1)?.condition, 'com.microsoft:device-container-throttled');
  });

  test('rejectNext fails exactly the next n messages with the given condition',
    FAST, async () => {
      hub.addDevice('picky', newKey());
      const client = await connected('picky');

      hub.rejectNext(2, 'amqp:internal-error');
      await assert.rejects(client.sendEvent(new Message('1')), errors.InternalServerError);
      await assert.rejects(client.sendEvent(new Message('2')), errors.InternalServerError);
      await client.sendEvent(new Message('3'));

      assert.deepEqual(messagesFrom('picky'), ['3']);
    });

  test('a message over 256 KB is refused with MessageTooLargeError', FAST, async () => {
    hub.addDevice('chatty', newKey());
    const client = await connected('chatty');

    const tooBig = new Message(Buffer.alloc(256 * 1024 + 1, 0x61));
    await assert.rejects(client.sendEvent(tooBig), errors.MessageTooLargeError);
    await client.sendEvent(new Message(Buffer.alloc(256 * 1024, 0x61)));

    assert.equal(lastOf(hub.messages, (m) => m.deviceId === 'chatty')?.body.length,
      256 * 1024);
  });

  test('refuseConnections makes open fail with NotConnectedError', FAST, async () => {
    hub.addDevice('refused', newKey());
    const client = await prepare(
      Client.fromConnectionString(hub.connectionString('refused'), Amqp));
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
    assert.deepEqual(messagesFrom('refused'), ['second try']);
  });

  test('dropConnections disconnects the client, which reconnects on its next send',
    FAST, async () => {
      hub.addDevice('dropped', newKey());
      const client = await connected('dropped');
      await client.sendEvent(new Message('first'));
      const disconnected = once(client, 'disconnect');

      assert.ok(hub.dropConnections() >= 1);
      await disconnected;
      await client.sendEvent(new Message('second'));

      const carriers = hub.messages.filter((m) => m.deviceId === 'dropped')
        .map((m) => m.connectionId);
      assert.equal(carriers.length, 2);
      assert.notEqual(carriers[0], carriers[1]);
    });

  test('expireTokensNow rejects messages until a new put-token on the same connection',
    FAST, async () => {
      const key = newKey();
      hub.addDevice('renewing', key);
      const first = deviceToken(hub.host, 'renewing', key, unixNow() + 3600);
      const client = await prepare(Client.fromSharedAccessSignature(first, Amqp));
      await client.open();
      await client.sendEvent(new Message('fresh'));

      hub.expireTokensNow();
      await assert.rejects(client.sendEvent(new Message('stale')), errors.UnauthorizedError);

      const second = deviceToken(hub.host, 'renewing', key, unixNow() + 7200);
      await new Promise<void>((resolve, reject) => {
        client.updateSharedAccessSignature(second, (err) => (err ? reject(err) : resolve()));
      });
      await client.sendEvent(new Message('renewed'));

      assert.deepEqual(messagesFrom('renewing'), ['fresh', 'renewed']);
      // The SDK 1.18 puts the updated token twice: once from the token provider's event,
      // once from the transport's own update. Both must land on the first connection.
      const puts = hub.putTokens.filter((p) => p.deviceId === 'renewing');
      assert.ok(puts.length >= 2);
      assert.ok(puts.every((p) => p.accepted));
      assert.equal(new Set(puts.map((p) => p.connectionId)).size, 1);
      assert.equal(puts.at(-1)?.expiresAt?.getTime(), (unixNow() + 7200) * 1000);
    });

  test('a module identity authenticates and sends as that module', FAST, async () => {
    hub.addDevice('gateway', newKey(), 'sensor-module');
    const client = await connected('gateway', 'sensor-module');

    await client.sendEvent(new Message('from the module'));

    const received = lastOf(hub.messages, (m) => m.deviceId === 'gateway');
    assert.equal(received?.moduleId, 'sensor-module');
    assert.equal(received?.body.toString(), 'from the module');
    const put = lastOf(hub.putTokens, (p) => p.deviceId === 'gateway');
    assert.equal(put?.moduleId, 'sensor-module');
    assert.match(put?.audience ?? '', /%2Fmodules%2Fsensor-module$/);
  });

  test('the device key cannot open the module, nor the module key the device', FAST,
    async () => {
      hub.addDevice('parent', newKey());
      hub.addDevice('parent', newKey(), 'child');
      const deviceKey = /SharedAccessKey=(.*)$/.exec(hub.connectionString('parent'))?.[1];
      assert.ok(deviceKey);
      const crossed = hub.connectionString('parent', 'child')
        .replace(/SharedAccessKey=.*$/, `SharedAccessKey=${deviceKey}`);
      const client = await prepare(Client.fromConnectionString(crossed, Amqp));

      await assert.rejects(client.open(), errors.UnauthorizedError);
    });

  test('put-token records keep audience and expiry but never the signature', () => {
    assert.ok(hub.putTokens.length > 0);
    const recorded = JSON.stringify(hub.putTokens);
    assert.doesNotMatch(recorded, /sig=|SharedAccessSignature/);
    for (const put of hub.putTokens) assert.notEqual(put.audience, '');
  });
});

describe('token checks (the rules the hub applies to a put-token)', () => {
  const key = Buffer.alloc(32, 7);
  const keyBase64 = key.toString('base64');
  const hosts = ['localhost', 'localhost:5671'];
  const now = 1_800_000_000;

  function token(resource: string, expiry: number, signingKey = keyBase64): string {
    return SharedAccessSignature.create(encodeURIComponent(resource), '', signingKey, expiry)
      .toString();
  }

  function check(audience: string, sas: string): string {
    const result = checkToken({
      audience, token: sas, hosts, now,
      keyFor: (who) => (who.deviceId === 'd1' ? key : undefined),
    });
    return result.ok ? 'ok' : result.reason;
  }

  const good = token('localhost:5671/devices/d1', now + 60);
  const audience = encodeURIComponent('localhost:5671/devices/d1');
  const cases: Array<[string, string, string, string]> = [
    ['a valid token', audience, good, 'ok'],
    ['the host without its port', encodeURIComponent('localhost/devices/d1'),
      token('localhost/devices/d1', now + 60), 'ok'],
    ['the audience sent decoded', 'localhost:5671/devices/d1', good, 'ok'],
    ['a token that expires now', audience, token('localhost:5671/devices/d1', now),
      'token expired'],
    ['another key', audience, token('localhost:5671/devices/d1', now + 60, newKey()),
      'signature does not match'],
    ['an audience for another device', encodeURIComponent('localhost:5671/devices/d2'), good,
      'audience does not match the token resource'],
    ['another hub', encodeURIComponent('elsewhere/devices/d1'),
      token('elsewhere/devices/d1', now + 60),
      'resource (sr) is not a device or module of this hub'],
    ['a changed expiry', audience, good.replace(`se=${now + 60}`, `se=${now + 600}`),
      'signature does not match'],
    ['a policy token (skn)', audience, `${good}&skn=iothubowner`,
      'shared access policies are not supported here'],
    ['no prefix', audience, good.replace('SharedAccessSignature ', ''),
      'malformed shared access signature'],
    ['a repeated field', audience, `${good}&se=${now + 60}`, 'malformed shared access signature'],
    ['a non-numeric expiry', audience, good.replace(/se=\d+/, 'se=soon'), 'malformed expiry (se)'],
  ];

  for (const [name, caseAudience, sas, expected] of cases) {
    test(name, () => assert.equal(check(caseAudience, sas), expected));
  }

  test('parsing keeps the fields exactly as sent', () => {
    const fields = parseSharedAccessSignature(good);
    assert.equal(fields?.sr, audience);
    assert.equal(fields?.se, String(now + 60));
    assert.match(fields?.sig ?? '', /%/);
  });

  test('resources name a device or a module', () => {
    assert.deepEqual(parseResource('localhost/devices/d1', hosts), { deviceId: 'd1' });
    assert.deepEqual(parseResource('LOCALHOST:5671/devices/d1/modules/m', hosts),
      { deviceId: 'd1', moduleId: 'm' });
    assert.equal(parseResource('localhost/devices/d1/twin', hosts), undefined);
    assert.equal(parseResource('localhost/devices/', hosts), undefined);
  });
});
