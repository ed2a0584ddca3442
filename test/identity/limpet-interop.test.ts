import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SharedAccessSignature, encodeUriComponentStrict } from 'azure-iot-common';
import { IdentityStore } from '../../src/identity';
import { Tpm } from '../../src/tpm2';
import { startSwtpm, type Swtpm } from '../support/swtpm';

// A slot written by somebody else's tools in the Windows IoT Core (Limpet) layout: the
// HMAC key persisted at 0x81000100 + slot, "<host>/<device>" in NV 0x01400100 + slot
// with AUTHREAD|AUTHWRITE|NO_DA. Here tpm2-tools play the part of the device portal.
const HOST = 'limpet-hub.azure-devices.net';
const KEY = Buffer.from('bGltcGV0LWxheW91dC1rZXktZnJvbS1hbm90aGVyLXRvb2w=', 'base64');

describe('a slot provisioned by another tool in the Limpet layout', () => {
  let swtpm: Swtpm;
  let dir: string;

  function tools(command: string, args: string[], input?: Buffer): void {
    execFileSync(command, args, {
      cwd: dir, env: { ...process.env, TPM2TOOLS_TCTI: swtpm.tcti },
      stdio: [input ? 'pipe' : 'ignore', 'ignore', 'pipe'], ...(input ? { input } : {}),
    });
  }

  before(async () => {
    swtpm = await startSwtpm();
    dir = mkdtempSync(join(tmpdir(), 'limpet-'));
    writeFileSync(join(dir, 'key.bin'), KEY);
    const identity = Buffer.from(`${HOST}/portal-device`);

    // swtpm has no resource manager: each tool leaves its objects loaded, so flush after.
    tools('tpm2_createprimary', ['-C', 'o', '-G', 'ecc', '-c', 'primary.ctx']);
    tools('tpm2_flushcontext', ['-t']);
    // Imported rather than created: an imported object is not fixedTPM, which the
    // slot inspection must still accept as an HMAC key.
    tools('tpm2_import', ['-C', 'primary.ctx', '-G', 'hmac', '-i', 'key.bin',
      '-u', 'key.pub', '-r', 'key.priv']);
    tools('tpm2_flushcontext', ['-t']);
    tools('tpm2_load', ['-C', 'primary.ctx', '-u', 'key.pub', '-r', 'key.priv', '-c', 'key.ctx']);
    tools('tpm2_flushcontext', ['-t']);
    tools('tpm2_evictcontrol', ['-C', 'o', '-c', 'key.ctx', '0x81000103']);
    tools('tpm2_flushcontext', ['-t']);
    tools('tpm2_nvdefine', ['0x01400103', '-C', 'o', '-s', String(identity.length),
      '-a', 'authread|authwrite|no_da']);
    tools('tpm2_nvwrite', ['0x01400103', '-i-'], identity);
  });
  after(async () => {
    await swtpm.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  test('is read as an identity and signs tokens equal to the SDK\'s', async () => {
    const store = new IdentityStore(Tpm.open(swtpm.tcti));
    try {
      assert.deepEqual(await store.read(3), { hostName: HOST, deviceId: 'portal-device' });
      const { token, expiry } = await store.sasToken(3, 3600, 1_790_000_000_000);
      const sdk = SharedAccessSignature.create(
        encodeUriComponentStrict(`${HOST}/devices/portal-device`), '', KEY.toString('base64'),
        expiry);
      assert.equal(token, sdk.toString());
      // Ours, so provisioning again needs no force.
      const key = KEY.toString('base64');
      await store.provision(3, `HostName=${HOST};DeviceId=portal-device;SharedAccessKey=${key}`);
      assert.equal((await store.sasToken(3, 3600, 1_790_000_000_000)).token, sdk.toString());
    } finally {
      await store.tpm.close();
    }
  });
});
