import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  CC, HANDLE_RANGE, OBJECT_ATTR as A, Tpm, TpmFormatError, TpmResponseError,
  TpmTimeoutError, TpmTransportError, createObject, createPrimaryStorageKey, flushContext,
  getHandles, getTpmInfo, hmacKeyTemplate, hmacSha256, loadObject, readPublic, type Executor,
} from '../../src/tpm2';
import { startSwtpm, type Swtpm } from '../support/swtpm';
import { TpmFaultProxy } from '../support/tpm-proxy';

const KEY = Buffer.from('c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0zMmJ5dGVz', 'base64');
const ATTRS = A.fixedTPM | A.fixedParent | A.userWithAuth | A.noDA | A.sign;

/** Loads an HMAC key from KEY and returns its transient handle (primary flushed). */
async function loadKey(tx: Executor): Promise<number> {
  const primary = await createPrimaryStorageKey(tx);
  const created = await createObject(tx, primary, hmacKeyTemplate(ATTRS), KEY);
  const key = await loadObject(tx, primary, created);
  await flushContext(tx, primary);
  return key;
}

describe('TPM client against swtpm', () => {
  let swtpm: Swtpm;
  let tpm: Tpm;

  before(async () => {
    swtpm = await startSwtpm();
    tpm = Tpm.open(swtpm.tcti, { timeoutMs: 5000 });
  });
  after(async () => {
    await tpm.close();
    await swtpm.destroy();
  });

  test('reads the fixed properties', async () => {
    const info = await getTpmInfo(tpm);
    assert.equal(info.manufacturer.trim(), 'IBM');
    assert.equal(info.inputBuffer, 1024);
    assert.ok((info.persistentAvailable ?? 0) > 0);
  });

  const sizes = [0, 1, 55, 64, 1023, 1024, 1025, 2048, 2049, 5000];
  for (const size of sizes) {
    test(`HMAC of ${size} bytes equals the software HMAC`, async () => {
      const data = Buffer.alloc(size, size % 251);
      const mac = await tpm.transaction(async (tx) => {
        const key = await loadKey(tx);
        try {
          return await hmacSha256(tx, key, data, 1024);
        } finally {
          await flushContext(tx, key);
        }
      });
      assert.deepEqual(mac, createHmac('sha256', KEY).update(data).digest());
    });
  }

  test('leaves no transient object behind', async () => {
    assert.deepEqual(await getHandles(tpm, HANDLE_RANGE.TRANSIENT, 64), []);
  });

  test('serialises concurrent callers', async () => {
    const key = await tpm.transaction(loadKey);
    try {
      const inputs = Array.from({ length: 40 }, (_, i) => Buffer.from(`message ${i}`));
      const macs = await Promise.all(inputs.map((data, i) =>
        // Every fourth one is a sequence, whose three commands must not be split.
        tpm.transaction((tx) => hmacSha256(tx, key, i % 4 ? data : Buffer.alloc(3000, i), 1024))));
      macs.forEach((mac, i) => {
        const data = i % 4 ? inputs[i] ?? Buffer.alloc(0) : Buffer.alloc(3000, i);
        assert.deepEqual(mac, createHmac('sha256', KEY).update(data).digest());
      });
    } finally {
      await flushContext(tpm, key);
    }
  });

  test('turns an error response into an error that names the code', async () => {
    await assert.rejects(readPublic(tpm, 0x81000999), (err: unknown) => {
      assert.ok(err instanceof TpmResponseError);
      assert.equal(err.code, 'TPM_RC_HANDLE');
      assert.equal(err.rc, 0x18b);
      assert.match(err.message, /TPM2_ReadPublic failed: TPM_RC_HANDLE \(handle 1\)/);
      return true;
    });
  });

  test('speaks the Microsoft simulator framing too', async () => {
    const mssim = Tpm.open(`mssim:host=127.0.0.1,port=${swtpm.port}`);
    try {
      // swtpm serves one client at a time: let go of ours first.
      await tpm.close();
      const info = await getTpmInfo(mssim);
      assert.equal(info.inputBuffer, 1024);
    } finally {
      await mssim.close();
    }
  });

  test('reconnects after the simulator restarts', async () => {
    await getTpmInfo(tpm);
    await swtpm.stop();
    await assert.rejects(getTpmInfo(tpm), TpmTransportError);
    await assert.rejects(getTpmInfo(tpm), (err: unknown) => {
      assert.ok(err instanceof TpmTransportError);
      assert.match(err.message, /nothing listens at 127\.0\.0\.1:\d+; start the TPM simulator/);
      return true;
    });
    await swtpm.restart();
    assert.equal((await getTpmInfo(tpm)).inputBuffer, 1024);
  });
});

describe('TPM client faults', () => {
  let swtpm: Swtpm;
  let proxy: TpmFaultProxy;
  let tpm: Tpm;

  before(async () => {
    swtpm = await startSwtpm();
    proxy = new TpmFaultProxy(swtpm.port);
    await proxy.start();
    tpm = Tpm.open(proxy.tcti, { timeoutMs: 300, resends: 3 });
  });
  after(async () => {
    await tpm.close();
    await proxy.stop();
    await swtpm.destroy();
  });

  test('a TPM that never answers times out, and the next command works', async () => {
    proxy.inject({ kind: 'hang' }, CC.GetCapability);
    await assert.rejects(getTpmInfo(tpm), TpmTimeoutError);
    assert.equal((await getTpmInfo(tpm)).inputBuffer, 1024);
  });

  test('a TPM that disappears mid-command is an error, not a crash', async () => {
    proxy.inject({ kind: 'close' }, CC.GetCapability);
    await assert.rejects(getTpmInfo(tpm), (err: unknown) => {
      assert.ok(err instanceof TpmTransportError);
      assert.match(err.message, /closed the connection in the middle of a command/);
      return true;
    });
    assert.equal((await getTpmInfo(tpm)).inputBuffer, 1024);
  });

  const garbage: [string, Buffer][] = [
    ['a wrong tag', Buffer.from('1234000000100000000000000000', 'hex')],
    ['a size below the header', Buffer.from('80010000000400000000', 'hex')],
    ['an oversized size', Buffer.from('800100100000000000000000', 'hex')],
    ['more bytes than announced', Buffer.from('80010000000a00000000ffff', 'hex')],
    ['a truncated body', Buffer.from('8001000000110000000001', 'hex')],
  ];
  for (const [what, bytes] of garbage) {
    test(`a response with ${what} is a format error`, async () => {
      proxy.inject({ kind: 'garble', bytes }, CC.GetCapability);
      await assert.rejects(getTpmInfo(tpm), (err: unknown) => {
        // A truncated body never completes: it ends as a timeout, also an error.
        assert.ok(err instanceof TpmFormatError || err instanceof TpmTimeoutError, String(err));
        return true;
      });
      assert.equal((await getTpmInfo(tpm)).inputBuffer, 1024);
    });
  }

  test('a well-framed response too short for its command is a format error', async () => {
    proxy.inject({ kind: 'garble', bytes: Buffer.from('80010000000e0000000000000001', 'hex') },
      CC.GetCapability);
    await assert.rejects(getTpmInfo(tpm), /truncated TPM2_GetCapability response/);
  });

  test('RETRY, YIELDED and TESTING are resent', async () => {
    proxy.inject({ kind: 'respond', rc: 0x922 }, CC.GetCapability);
    proxy.inject({ kind: 'respond', rc: 0x908 }, CC.GetCapability);
    proxy.inject({ kind: 'respond', rc: 0x90a }, CC.GetCapability);
    assert.equal((await getTpmInfo(tpm)).inputBuffer, 1024);
  });

  test('a warning that persists is reported after the resends', async () => {
    for (let i = 0; i < 4; i++) proxy.inject({ kind: 'respond', rc: 0x922 }, CC.GetCapability);
    await assert.rejects(getTpmInfo(tpm), /TPM_RC_RETRY/);
  });

  test('out of object memory names the fix', async () => {
    proxy.inject({ kind: 'respond', rc: 0x902 }, CC.CreatePrimary);
    await assert.rejects(createPrimaryStorageKey(tpm), /flush them \(tpm2_flushcontext -t\)/);
  });
});

describe('device transport', () => {
  test('a missing device names the fix', async () => {
    const tpm = Tpm.open('device:/dev/tpmrm7');
    await assert.rejects(getTpmInfo(tpm), (err: unknown) => {
      assert.ok(err instanceof TpmTransportError);
      assert.equal(err.code, 'ENOENT');
      assert.match(err.message, /enable the TPM .*or choose a simulator/);
      return true;
    });
  });
});
