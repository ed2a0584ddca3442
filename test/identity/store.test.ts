import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SharedAccessSignature, encodeUriComponentStrict } from 'azure-iot-common';
import { SharedAccessKeyAuthenticationProvider } from 'azure-iot-device';
import {
  ConnectionStringError, ForeignObjectError, IdentityStore, NotProvisionedError,
  SLOT_COUNT, identityIndex, keyHandle,
} from '../../src/identity';
import {
  CC, HANDLE_RANGE, OBJECT_ATTR as A, Tpm, createObject, createPrimaryStorageKey,
  evictPersistent, flushContext, getHandles, hmacKeyTemplate, loadObject, nvRead,
  nvReadPublic, persistObject,
} from '../../src/tpm2';
import { startSwtpm, type Swtpm } from '../support/swtpm';
import { TpmFaultProxy } from '../support/tpm-proxy';

const HOST = 'weather-hub.azure-devices.net';

function keyFor(seed: number, length = 32): string {
  return Buffer.from(Array.from({ length }, (_, i) => (seed * 31 + i * 7) & 0xff))
    .toString('base64');
}

function cs(deviceId: string, key: string, extra = ''): string {
  return `HostName=${HOST};DeviceId=${deviceId};SharedAccessKey=${key}${extra}`;
}

/** The token the SDK itself makes from a key, for the same resource and expiry. */
function sdkToken(resource: string, key: string, expiry: number): string {
  return SharedAccessSignature.create(encodeUriComponentStrict(resource), '', key, expiry)
    .toString();
}

/** Everything a slot holds that a reader could see: for before/after comparisons. */
async function snapshot(tpm: Tpm): Promise<string> {
  const persistent = await getHandles(tpm, HANDLE_RANGE.PERSISTENT, 100);
  const nv = await getHandles(tpm, HANDLE_RANGE.NV_INDEX, 100);
  const contents = [];
  for (const index of nv) {
    const pub = await nvReadPublic(tpm, index);
    contents.push(`${index.toString(16)}:${(await nvRead(tpm, index, pub.size)).toString('hex')}`);
  }
  return JSON.stringify({ persistent, contents });
}

describe('identity store against swtpm', () => {
  let swtpm: Swtpm;
  let tpm: Tpm;
  let store: IdentityStore;

  before(async () => {
    swtpm = await startSwtpm();
    tpm = Tpm.open(swtpm.tcti, { timeoutMs: 5000 });
    store = new IdentityStore(tpm);
  });
  after(async () => {
    await tpm.close();
    await swtpm.destroy();
  });

  test('an empty slot is not provisioned, with the fix in the message', async () => {
    assert.deepEqual(await store.inspect(0), { kind: 'empty' });
    await assert.rejects(store.read(0), (err: unknown) => {
      assert.ok(err instanceof NotProvisionedError);
      assert.match(err.message, /azure-iot-tpm provision --slot 0/);
      return true;
    });
    await assert.rejects(store.sasToken(0, 3600), NotProvisionedError);
  });

  test('provisions every slot and reads each back', async () => {
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      const identity = await store.provision(slot, cs(`device-${slot}`, keyFor(slot)));
      assert.deepEqual(identity, { hostName: HOST, deviceId: `device-${slot}` });
    }
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      assert.deepEqual(await store.read(slot), { hostName: HOST, deviceId: `device-${slot}` });
    }
    await assert.rejects(store.read(SLOT_COUNT), /slot must be a whole number from 0 to 9/);
  });

  test('tokens equal the SDK\'s own, byte for byte, in every slot', async () => {
    const now = Date.UTC(2026, 11, 3, 12, 0, 0);
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      const { token, expiry } = await store.sasToken(slot, 3600, now);
      assert.equal(expiry, now / 1000 + 3600);
      assert.equal(token, sdkToken(`${HOST}/devices/device-${slot}`, keyFor(slot), expiry));
    }
  });

  test('tokens equal those of the SDK\'s key-based authentication provider', async () => {
    await store.provision(1, cs('provider-check', keyFor(77)));
    const provider = SharedAccessKeyAuthenticationProvider.fromConnectionString(
      cs('provider-check', keyFor(77)));
    const credentials = await provider.getDeviceCredentials();
    provider.stop();
    const sdk = credentials.sharedAccessSignature ?? '';
    const se = Number(/se=(\d+)/.exec(sdk)?.[1]);
    const ours = await store.sasToken(1, 3600, (se - 3600) * 1000);
    assert.equal(ours.token, sdk);
  });

  test('a module identity signs for its module resource', async () => {
    const key = keyFor(3);
    await store.provision(2, `${cs('gateway-dev', key)};ModuleId=bme280`);
    assert.deepEqual(await store.read(2),
      { hostName: HOST, deviceId: 'gateway-dev', moduleId: 'bme280' });
    const { token, expiry } = await store.sasToken(2, 60, 1_800_000_000_000);
    assert.equal(token, sdkToken(`${HOST}/devices/gateway-dev/modules/bme280`, key, expiry));
  });

  test('keeps the gateway host where Limpet readers do not look', async () => {
    await store.provision(3, `${cs('edge-child', keyFor(4))};GatewayHostName=edge.local`);
    assert.deepEqual(await store.read(3),
      { hostName: HOST, deviceId: 'edge-child', gatewayHostName: 'edge.local' });
    const limpet = await nvRead(tpm, identityIndex(3), (await nvReadPublic(tpm, identityIndex(3))).size);
    assert.equal(limpet.toString('utf8'), `${HOST}/edge-child`);
    // Reprovisioning without a gateway removes it.
    await store.provision(3, cs('edge-child', keyFor(4)));
    assert.deepEqual(await store.read(3), { hostName: HOST, deviceId: 'edge-child' });
  });

  for (const length of [16, 64, 65, 100, 128]) {
    test(`a ${length}-byte key gives the SDK's token`, async () => {
      const key = keyFor(length, length);
      await store.provision(4, cs('long-key', key));
      const { token, expiry } = await store.sasToken(4, 3600, 1_790_000_000_000);
      assert.equal(token, sdkToken(`${HOST}/devices/long-key`, key, expiry));
    });
  }

  test('signs input longer than the TPM input buffer with an HMAC sequence', async () => {
    const key = keyFor(9);
    await store.provision(5, cs('seq', key));
    const data = Buffer.alloc(4000, 0x5a);
    assert.deepEqual(await store.sign(5, data),
      createHmac('sha256', Buffer.from(key, 'base64')).update(data).digest());
  });

  test('reprovisioning replaces the identity and the key', async () => {
    await store.provision(6, cs('old-device', keyFor(60)));
    await store.provision(6, cs('new-device', keyFor(61)));
    assert.equal((await store.read(6)).deviceId, 'new-device');
    const { token, expiry } = await store.sasToken(6, 3600, 1_790_000_000_000);
    assert.equal(token, sdkToken(`${HOST}/devices/new-device`, keyFor(61), expiry));
  });

  test('bad connection strings leave the TPM exactly as it was', async () => {
    const before = await snapshot(tpm);
    const bad = ['', 'HostName=x', cs('d', 'not base64!'), cs('a/b', keyFor(1)),
      `${cs('d', keyFor(1))};SharedAccessKeyName=owner`, cs('d', ''), `"${cs('d', keyFor(1))}"`];
    for (const text of bad) {
      await assert.rejects(store.provision(0, text), ConnectionStringError);
    }
    assert.equal(await snapshot(tpm), before);
    assert.equal((await store.read(0)).deviceId, 'device-0');
  });

  test('clears a slot, and clearing twice is harmless', async () => {
    assert.equal(await store.clear(7), true);
    assert.deepEqual(await store.inspect(7), { kind: 'empty' });
    assert.equal(await store.clear(7), false);
    await assert.rejects(store.sign(7, Buffer.from('x')), NotProvisionedError);
  });

  test('a slot whose key was removed is incomplete and can be provisioned again', async () => {
    await store.provision(8, cs('half', keyFor(8)));
    await evictPersistent(tpm, keyHandle(8));
    assert.equal((await store.inspect(8)).kind, 'incomplete');
    await assert.rejects(store.read(8), /is incomplete \(the key of device half is missing\)/);
    await store.provision(8, cs('half', keyFor(8)));
    assert.equal((await store.read(8)).deviceId, 'half');
  });

  test('refuses to replace a key it did not make, unless forced', async () => {
    await store.clear(9);
    // What the Azure IoT Identity Service or DPS leave: an HMAC key with no identity NV.
    await tpm.transaction(async (tx) => {
      const primary = await createPrimaryStorageKey(tx);
      const attrs = A.fixedTPM | A.fixedParent | A.userWithAuth | A.sign;
      const key = await loadObject(tx, primary,
        await createObject(tx, primary, hmacKeyTemplate(attrs), Buffer.alloc(32, 1)));
      await persistObject(tx, key, keyHandle(9));
      await flushContext(tx, key);
      await flushContext(tx, primary);
    });
    const before = await snapshot(tpm);
    await assert.rejects(store.provision(9, cs('mine', keyFor(90))), (err: unknown) => {
      assert.ok(err instanceof ForeignObjectError);
      assert.match(err.message, /persistent handle 0x81000109 holds an HMAC key with no identity/);
      return true;
    });
    await assert.rejects(store.clear(9), ForeignObjectError);
    assert.equal(await snapshot(tpm), before);

    await store.provision(9, cs('mine', keyFor(90)), { force: true });
    const { token, expiry } = await store.sasToken(9, 3600, 1_790_000_000_000);
    assert.equal(token, sdkToken(`${HOST}/devices/mine`, keyFor(90), expiry));
  });

  test('names a foreign storage key by its type', async () => {
    await store.clear(9);
    await tpm.transaction(async (tx) => {
      const primary = await createPrimaryStorageKey(tx);
      await persistObject(tx, primary, keyHandle(9));
      await flushContext(tx, primary);
    });
    await assert.rejects(store.provision(9, cs('x', keyFor(1))), /holds an ECC key/);
    await store.clear(9, { force: true });
    assert.deepEqual(await store.inspect(9), { kind: 'empty' });
  });

  test('leaves no transient object behind', async () => {
    assert.deepEqual(await getHandles(tpm, HANDLE_RANGE.TRANSIENT, 64), []);
  });

  test('concurrent token requests for several slots are each right', async () => {
    const slots = [0, 1, 2, 4, 5, 6];
    const expected = await Promise.all(slots.map((slot) => store.read(slot)));
    const tokens = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      store.sasToken(slots[i % slots.length] ?? 0, 3600, 1_790_000_000_000)));
    tokens.forEach((t, i) => assert.deepEqual(t.identity, expected[i % slots.length]));
  });
});

// tpm2-tools is an independent reader of the same layout; .ci/run installs it.
describe('identity store interoperates with tpm2-tools', () => {
  let swtpm: Swtpm;
  let dir: string;

  before(async () => {
    swtpm = await startSwtpm();
    dir = mkdtempSync(join(tmpdir(), 'tpm2-tools-'));
  });
  after(async () => {
    await swtpm.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('tpm2_nvread and tpm2_hmac see the Limpet layout', async () => {
    const tpm = Tpm.open(swtpm.tcti);
    const key = keyFor(42);
    await new IdentityStore(tpm).provision(0, cs('limpet-check', key));
    await tpm.close();

    const env = { ...process.env, TPM2TOOLS_TCTI: swtpm.tcti };
    const nv = execFileSync('tpm2_nvread', ['0x01400100'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    assert.equal(nv.toString('utf8'), `${HOST}/limpet-check`);

    const input = join(dir, 'in');
    writeFileSync(input, 'resource\n1790000000');
    const out = join(dir, 'mac');
    execFileSync('tpm2_hmac', ['-c', '0x81000100', '-g', 'sha256', '-o', out, input],
      { env, stdio: 'ignore' });
    assert.deepEqual(readFileSync(out),
      createHmac('sha256', Buffer.from(key, 'base64')).update('resource\n1790000000').digest());
  });
});

describe('a provisioning that fails half-way', () => {
  let swtpm: Swtpm;
  let proxy: TpmFaultProxy;
  let tpm: Tpm;

  before(async () => {
    swtpm = await startSwtpm();
    proxy = new TpmFaultProxy(swtpm.port);
    await proxy.start();
    tpm = Tpm.open(proxy.tcti, { timeoutMs: 5000 });
  });
  after(async () => {
    await tpm.close();
    await proxy.stop();
    await swtpm.destroy();
  });

  const failures: [string, number][] = [
    ['creating the key', CC.Create],
    ['writing the identity', CC.NV_Write],
    ['persisting the key', CC.EvictControl],
  ];
  for (const [step, code] of failures) {
    test(`leaves the slot as it was when ${step} fails`, async () => {
      const store = new IdentityStore(tpm);
      await store.provision(0, cs('original', keyFor(1)));
      const before = await snapshot(tpm);
      const token = (await store.sasToken(0, 3600, 1_790_000_000_000)).token;

      proxy.inject({ kind: 'respond', rc: 0x14b }, code);
      await assert.rejects(store.provision(0, cs('replacement', keyFor(2))), /TPM_RC_NV_SPACE/);

      assert.equal(await snapshot(tpm), before);
      assert.equal((await store.sasToken(0, 3600, 1_790_000_000_000)).token, token);
      assert.deepEqual(await getHandles(tpm, HANDLE_RANGE.TRANSIENT, 64), []);
    });
  }
});
