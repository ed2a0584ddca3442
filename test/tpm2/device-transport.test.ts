// The device transport (the one /dev/tpmrm0 gets) on a real character device with a real
// TPM behind it: a raw-mode pseudo-terminal in front of swtpm (see support/pty-tpm.py).
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { SharedAccessSignature, encodeUriComponentStrict } from 'azure-iot-common';
import { IdentityStore } from '../../src/identity';
import {
  Tpm, TpmTimeoutError, TpmTransportError, getHandles, getTpmInfo, HANDLE_RANGE,
} from '../../src/tpm2';
import { DeviceTransport } from '../../src/tpm2/transport/device';
import { startPtyTpm, type PtyTpm } from '../support/pty-device';
import { startSwtpm, type Swtpm } from '../support/swtpm';

const KEY = Buffer.alloc(32, 0x5a);
const HOST = 'device-hub.azure-devices.net';
const CONNECTION_STRING =
  `HostName=${HOST};DeviceId=pty-device;SharedAccessKey=${KEY.toString('base64')}`;
// Limits only: a command that takes longer than this has hung.
const TIMEOUT_MS = 1500;

describe('device transport on a TPM character device', { timeout: 60_000 }, () => {
  let swtpm: Swtpm;
  let device: PtyTpm;
  let tpm: Tpm;

  before(async () => {
    swtpm = await startSwtpm();
  });
  beforeEach(async () => {
    await tpm?.close();
    await device?.stop();
    device = await startPtyTpm(swtpm.port);
    // The TCTI parser only lets /dev/tpm* through, so the transport is built directly.
    tpm = new Tpm(new DeviceTransport(device.path), { timeoutMs: TIMEOUT_MS });
  });
  after(async () => {
    await tpm?.close();
    await device?.stop();
    await swtpm?.destroy();
  });

  test('provisions, reads back and signs the SDK\'s token through the device', async () => {
    const store = new IdentityStore(tpm);
    assert.deepEqual(await store.provision(2, CONNECTION_STRING),
      { hostName: HOST, deviceId: 'pty-device' });
    assert.deepEqual(await store.read(2), { hostName: HOST, deviceId: 'pty-device' });

    const { token, expiry } = await store.sasToken(2, 3600, 1_790_000_000_000);
    const resource = encodeUriComponentStrict(`${HOST}/devices/pty-device`);
    const expected = SharedAccessSignature.create(resource, '', KEY.toString('base64'), expiry)
      .toString();
    assert.equal(token, expected);

    const left = await getHandles(tpm, HANDLE_RANGE.TRANSIENT, 64);
    assert.deepEqual(left, [], 'a transient object was left loaded');
  });

  test('the event loop runs while the device works', async () => {
    await device.delay(300);
    let ticks = 0;
    const ticker = setInterval(() => { ticks++; }, 10);
    try {
      const info = await getTpmInfo(tpm);
      assert.equal(info.manufacturer.trim(), 'IBM');
    } finally {
      clearInterval(ticker);
    }
    // A write() or read() on the main thread would have held every timer back.
    assert.ok(ticks > 0, 'no timer fired while the TPM worked: the I/O blocked');
  });

  // Only the timeout itself: on a pty every open file shares one buffer, so the read
  // left pending by the timeout would take the next command's answer, where a real
  // /dev/tpmrm0 keeps one answer per open file.
  test('a device that never answers times out instead of waiting for ever', async () => {
    await getTpmInfo(tpm);
    await device.hang();
    await assert.rejects(getTpmInfo(tpm), (err: unknown) => {
      assert.ok(err instanceof TpmTimeoutError, `unexpected ${String(err)}`);
      assert.match(err.message, new RegExp(`no answer from ${device.path}`));
      return true;
    });
  });

  test('a device that goes away is an error that names it, not a crash', async () => {
    await getTpmInfo(tpm);
    await device.vanish();
    await assert.rejects(getTpmInfo(tpm), (err: unknown) => {
      assert.ok(err instanceof TpmTransportError || err instanceof TpmTimeoutError,
        `unexpected ${String(err)}`);
      assert.match((err as Error).message, new RegExp(device.path));
      return true;
    });
  });
});
