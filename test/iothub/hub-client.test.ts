import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { IdentityStore, TpmIdentity, withStore } from '../../src/identity';
import {
  ClosedError, ConfigurationError, CredentialsRefusedError, HubClient, PayloadError,
  QueueFullError, buildMessage, type HubClientOptions, type HubStatus,
} from '../../src/iothub';
import { Tpm } from '../../src/tpm2';
import { startHub, type LocalHub } from '../support/hub';
import { startSwtpm, type Swtpm } from '../support/swtpm';
import { until, wait } from '../support/until';

/** The `i` of each message the hub received from `from` on. */
const orderFrom = (hub: LocalHub, from: number): number[] => hub.messages.slice(from)
  .map((m) => (JSON.parse(m.body.toString()) as { i: number }).i);

describe('HubClient with TPM tokens against the local hub', { timeout: 60_000 }, () => {
  let swtpm: Swtpm;
  let hub: LocalHub;
  let identity: TpmIdentity;
  let shortIdentity: TpmIdentity;
  const clients: HubClient[] = [];

  function open(options: Partial<HubClientOptions> = {}, source = identity): HubClient {
    const client = new HubClient({
      source, ca: hub.caPem, reconnectDelayMs: { initial: 100, max: 400 },
      credentialsBackoffMs: { initial: 300, max: 1000 }, ...options,
    });
    clients.push(client);
    return client;
  }

  before(async () => {
    swtpm = await startSwtpm();
    hub = await startHub();
    const key = hub.addDevice('station-1');
    const store = new IdentityStore(Tpm.open(swtpm.tcti));
    await store.provision(0, `HostName=${hub.host};DeviceId=station-1;SharedAccessKey=${key}`);
    await store.tpm.close();
    identity = new TpmIdentity({ tpm: swtpm.tcti, slot: 0, tokenTtl: 3600 });
    // Shares the connection with `identity`: the same TPM, the same slot, 3 s tokens.
    shortIdentity = new TpmIdentity({ tpm: swtpm.tcti, slot: 0, tokenTtl: 3 });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    hub.refuseConnections(false);
    hub.throttle(false);
  });
  after(async () => {
    await identity.close();
    await shortIdentity.close();
    await hub.stop();
    await swtpm.destroy();
  });

  test('messages arrive intact with their properties, signed by the TPM',
    { timeout: 20_000 }, async () => {
    const client = open();
    const before = hub.messages.length;
    await client.send(buildMessage({
      payload: { temperature: 21.5 }, properties: { alert: 'none', level: 3 },
      messageId: 'm-1', correlationId: 'c-1',
    }));
    await client.send(buildMessage({ payload: 'plain text' }));
    await client.send(buildMessage({ payload: Buffer.from([0, 1, 2, 255]) }));
    const [json, text, bytes] = hub.messages.slice(before);
    assert.equal(json?.deviceId, 'station-1');
    assert.deepEqual(JSON.parse(json?.body.toString() ?? ''), { temperature: 21.5 });
    assert.equal(json?.contentType, 'application/json');
    assert.equal(json?.contentEncoding, 'utf-8');
    assert.equal(json?.messageId, 'm-1');
    assert.equal(json?.correlationId, 'c-1');
    assert.deepEqual(json?.properties, { alert: 'none', level: '3' });
    assert.equal(text?.body.toString('utf8'), 'plain text');
    assert.equal(text?.contentEncoding, 'utf-8');
    assert.deepEqual(bytes?.body, Buffer.from([0, 1, 2, 255]));
    assert.match(String(bytes?.messageId), /^[0-9a-f-]{36}$/);
    assert.equal(client.provider.tokensMinted, 1);
  });

  test('one token serves many messages: the TPM is asked once per lifetime',
    { timeout: 20_000 }, async () => {
    const client = open();
    await Promise.all(Array.from({ length: 200 }, (_, i) =>
      client.send(buildMessage({ payload: { i } }))));
    assert.equal(client.provider.tokensMinted, 1);
  });

  test('many in flight still arrive in order', { timeout: 20_000 }, async () => {
    const client = open({ maxInFlight: 10 });
    const before = hub.messages.length;
    await Promise.all(Array.from({ length: 300 }, (_, i) =>
      client.send(buildMessage({ payload: { i } }))));
    const order = orderFrom(hub, before);
    assert.deepEqual(order, Array.from({ length: 300 }, (_, i) => i));
  });

  test('short tokens are renewed on the live connection, no send fails, no reconnect',
    { timeout: 20_000 }, async () => {
    const client = open({}, shortIdentity);
    const connectionsBefore = hub.connectionCount;
    let sent = 0;
    // Three-second tokens renewed a second early; ten seconds is three lifetimes.
    for (const stopAt = Date.now() + 10_000; Date.now() < stopAt; sent++) {
      await client.send(buildMessage({ payload: { sent } }));
      await wait(50);
    }
    assert.ok(client.provider.tokensMinted >= 4, `tokens: ${client.provider.tokensMinted}`);
    assert.equal(client.stats.connects, 1);
    assert.equal(client.stats.disconnects, 0);
    assert.equal(hub.connectionCount - connectionsBefore, 1);
    assert.equal(client.stats.accepted, sent);
  });

  test('an expired token: one refresh from the TPM, one retry, the message arrives once',
    { timeout: 20_000 }, async () => {
    const client = open();
    await client.send(buildMessage({ payload: 'warm-up' }));
    hub.expireTokensNow();
    const before = hub.messages.length;
    await client.send(buildMessage({ payload: 'after expiry', messageId: 'once' }));
    assert.deepEqual(hub.messages.slice(before).map((m) => m.messageId), ['once']);
    assert.equal(client.provider.tokensMinted, 2);
    assert.equal(client.stats.connects, 1);
  });

  test('a revoked key fails cleanly, without a loop, and recovers when fixed',
    { timeout: 20_000 }, async () => {
    const key = hub.addDevice('revoked-1');
    // Through the shared connection: swtpm serves one client at a time.
    await withStore(swtpm.tcti, (store) =>
      store.provision(1, `HostName=${hub.host};DeviceId=revoked-1;SharedAccessKey=${key}`));
    const revoked = new TpmIdentity({ tpm: swtpm.tcti, slot: 1, tokenTtl: 3600 });
    try {
      const client = open({}, revoked);
      await client.send(buildMessage({ payload: 'ok' }));
      hub.revokeDevice('revoked-1');
      const statuses: HubStatus[] = [];
      client.on('status', (s: HubStatus) => statuses.push(s));
      const putsBefore = hub.putTokens.length;
      await assert.rejects(client.send(buildMessage({ payload: 'refused' })), (err: unknown) => {
        assert.ok(err instanceof CredentialsRefusedError);
        assert.match(err.message, /also with a fresh token from the TPM/);
        return true;
      });
      assert.ok(statuses.some((s) => s.state === 'error'));
      // Backing off: messages meanwhile fail at once, and the hub hears nothing.
      const putsAfter = hub.putTokens.length;
      await assert.rejects(client.send(buildMessage({ payload: 'during back-off' })),
        /not trying again for \d+ s/);
      await wait(100);
      assert.equal(hub.putTokens.length, putsAfter);
      // One refused token and one refused fresh token (the SDK may send each twice).
      assert.ok(putsAfter - putsBefore <= 4, `put-tokens: ${putsAfter - putsBefore}`);

      // The device's key is fixed in the hub: after the back-off, sending works again.
      hub.addDevice('revoked-1', key);
      await wait(1200);
      await client.send(buildMessage({ payload: 'fixed', messageId: 'fixed' }));
      assert.equal(hub.messages.filter((m) => m.messageId === 'fixed').length, 1);
    } finally {
      await revoked.close();
    }
  });

  test('a second client of one device in the process says it will fight the first',
    { timeout: 20_000 }, async () => {
      const warnings: string[] = [];
      const listen = (client: HubClient): HubClient => client.on('log', (level, line) => {
        if (level === 'warn') warnings.push(String(line));
      });
      const first = listen(open());
      await first.send(buildMessage({ payload: 'first' }));
      assert.deepEqual(warnings, []);
      const second = listen(open({}, shortIdentity));
      await second.send(buildMessage({ payload: 'second' }));
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0] ?? '',
        /another connection of this Node-RED sends as localhost:\d+\/station-1\. IoT Hub/);

      // Once the first has closed, a new one is alone again.
      await first.close();
      await second.close();
      const third = listen(open());
      await third.send(buildMessage({ payload: 'third' }));
      assert.equal(warnings.length, 1);
    });

  test('a clock two hours behind: refused with the clock named; right again, it recovers',
    { timeout: 20_000 }, async () => {
    const client = open();
    const realNow = Date.now;
    // The machine's clock, as a Raspberry Pi without a battery has it before NTP.
    Date.now = () => realNow() - 2 * 3600 * 1000;
    try {
      await assert.rejects(client.send(buildMessage({ payload: 'before NTP' })),
        (err: unknown) => {
          assert.ok(err instanceof CredentialsRefusedError);
          assert.match(err.message, /that this machine's clock is right/);
          return true;
        });
    } finally {
      Date.now = realNow;
    }
    // NTP has set the clock: after the back-off a token that is valid now goes out.
    const minted = client.provider.tokensMinted;
    await wait(1200);
    await client.send(buildMessage({ payload: 'after NTP', messageId: 'after-ntp' }));
    assert.equal(hub.messages.filter((m) => m.messageId === 'after-ntp').length, 1);
    assert.ok(client.provider.tokensMinted > minted, 'no fresh token was made');
  });

  test('an outage of several seconds loses nothing and keeps order',
    { timeout: 20_000 }, async () => {
    const client = open();
    await client.send(buildMessage({ payload: { i: -1 } }));
    const before = hub.messages.length;
    hub.refuseConnections(true);
    hub.dropConnections();
    const sends = Array.from({ length: 50 },
      (_, i) => client.send(buildMessage({ payload: { i } })));
    await until(() => client.currentStatus.state === 'disconnected', 'the disconnected status');
    assert.match(client.currentStatus.detail ?? '', /retrying in \d+ s/);
    await wait(3000);
    hub.refuseConnections(false);
    await Promise.all(sends);
    const order = orderFrom(hub, before);
    assert.deepEqual(order, Array.from({ length: 50 }, (_, i) => i));
  });

  test('a full queue refuses the new message instead of dropping one',
    { timeout: 20_000 }, async () => {
    hub.refuseConnections(true);
    const client = open({ queueSize: 5 });
    const queued = Array.from({ length: 5 },
      (_, i) => client.send(buildMessage({ payload: { i } })));
    await assert.rejects(client.send(buildMessage({ payload: 'sixth' })), QueueFullError);
    hub.refuseConnections(false);
    await Promise.all(queued);
  });

  test('throttling slows down and then delivers', { timeout: 20_000 }, async () => {
    const client = open();
    await client.send(buildMessage({ payload: 'before' }));
    hub.throttle(true);
    const pending = client.send(buildMessage({ payload: 'throttled', messageId: 'thr' }));
    await until(() => client.currentStatus.state === 'disconnected', 'the back-off status');
    hub.throttle(false);
    await pending;
    assert.equal(hub.messages.filter((m) => m.messageId === 'thr').length, 1);
  });

  test('an unreachable hub shows within seconds, with the reason',
    { timeout: 20_000 }, async () => {
    hub.refuseConnections(true);
    const client = open();
    const sending = client.send(buildMessage({ payload: 'x' }));
    await until(() => client.currentStatus.state === 'disconnected',
      'the disconnected status', 5000);
    assert.ok(client.currentStatus.detail);
    await client.close();
    await assert.rejects(sending, ClosedError);
  });

  test('a hub certificate from another CA is named as the reason, not a bare disconnect',
    { timeout: 20_000 }, async () => {
      // Another hub's CA: a valid CA that did not sign this hub's certificate.
      const other = await startHub();
      try {
        const client = open({ ca: other.caPem });
        const sending = client.send(buildMessage({ payload: 'x' }));
        await until(() => client.currentStatus.state === 'disconnected', 'the disconnected status');
        assert.match(client.currentStatus.detail ?? '',
          /TLS certificate of localhost not trusted .*a missing trusted CA for a gateway/);
        await client.close();
        await assert.rejects(sending, ClosedError);
      } finally {
        await other.stop();
      }
    });

  test('AMQP over WebSockets to a host with a port fails with the fix, not a crash', async () => {
    // The local hub's host is localhost:PORT; the SDK's WebSocket transport would
    // append :443 to it and throw an invalid-URL error from inside a callback.
    const client = open({ transport: 'amqp-ws' });
    await assert.rejects(client.send(buildMessage({ payload: 'x' })), (err: unknown) => {
      assert.ok(err instanceof ConfigurationError);
      assert.match(err.message, /always uses port 443.*choose the AMQP transport/);
      return true;
    });
    assert.equal(client.currentStatus.state, 'error');
    await assert.rejects(client.send(buildMessage({ payload: 'y' })), ConfigurationError);
  });

  test('payloads that cannot be sent fail before they reach the hub', () => {
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    assert.throws(() => buildMessage({ payload: circular }), /cannot be sent as JSON/);
    assert.throws(() => buildMessage({ payload: 'x'.repeat(256 * 1024 + 1) }),
      (err: unknown) => err instanceof PayloadError && /at most 262144/.test(err.message));
    assert.throws(() => buildMessage({ payload: undefined }), /msg.payload is empty/);
    assert.throws(() => buildMessage({ payload: 1n }), /cannot be sent as JSON/);
    assert.throws(() => buildMessage({ payload: 1, properties: { a: { b: 1 } } }),
      /msg.properties.a must be a string/);
  });
});
