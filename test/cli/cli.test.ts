import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SharedAccessSignature, encodeUriComponentStrict } from 'azure-iot-common';
import { setOwnerPassword } from '../support/owner-password';
import { startSwtpm, type Swtpm } from '../support/swtpm';
import { freePort } from '../support/ports';

// The built CLI, run as a user would run it (npm test builds first).
const CLI = join(__dirname, '../../dist/src/cli/main.js');
const KEY = 'Zm9yLXRlc3RzLW9ubHktbm90LWEtcmVhbC1rZXktIQ==';
const CS = `HostName=cli-hub.azure-devices.net;DeviceId=cli-device;SharedAccessKey=${KEY}`;

interface Run { code: number | null; stdout: string; stderr: string }

function run(args: string[], options: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, TPM2TOOLS_TCTI: '', ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

function assertNoSecret(result: Run): void {
  const text = result.stdout + result.stderr;
  assert.ok(!text.includes(KEY), 'the key must not be printed');
  assert.ok(!text.includes(Buffer.from(KEY, 'base64').toString('hex')), 'nor its hex');
}

describe('azure-iot-tpm', () => {
  let swtpm: Swtpm;
  let tpm: string[];

  before(async () => {
    swtpm = await startSwtpm();
    tpm = ['--tpm', swtpm.tcti];
  });
  after(() => swtpm.destroy());

  test('info describes a reachable TPM and its empty slots', async () => {
    const result = await run(['info', ...tpm]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Manufacturer: IBM/);
    assert.match(result.stdout, /Reachable:\s+yes/);
    assert.equal(result.stdout.match(/^ {2}\d {2}empty$/gm)?.length, 10);
    assert.match(result.stdout, /^Owner hierarchy: enabled, no password/m);
  });

  test('info on an unreachable TPM says why, with exit code 1', async () => {
    const port = await freePort();
    const result = await run(['info', '--tpm', `swtpm:host=127.0.0.1,port=${port}`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /nothing listens at 127\.0\.0\.1:\d+; start the TPM simulator/);
  });

  test('provision reads the connection string from standard input', async () => {
    const result = await run(['provision', ...tpm, '--slot', '2', '-'], { stdin: `${CS}\n` });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Stored device cli-device of cli-hub\.azure-devices\.net in TPM slot 2/);
    assertNoSecret(result);
  });

  test('show prints the identity, as text and as JSON', async () => {
    const text = await run(['show', ...tpm, '--slot', '2']);
    assert.equal(text.code, 0);
    assert.equal(text.stdout.trim(), 'slot 2: device cli-device of cli-hub.azure-devices.net');
    const json = await run(['show', ...tpm, '--slot', '2', '--json']);
    assert.deepEqual(JSON.parse(json.stdout), {
      slot: 2, state: 'provisioned', hostName: 'cli-hub.azure-devices.net', deviceId: 'cli-device',
    });
  });

  test('token prints the token the SDK would make', async () => {
    const result = await run(['token', ...tpm, '--slot', '2', '--ttl', '120']);
    assert.equal(result.code, 0, result.stderr);
    const se = Number(/se=(\d+)/.exec(result.stdout)?.[1]);
    const expected = SharedAccessSignature.create(
      encodeUriComponentStrict('cli-hub.azure-devices.net/devices/cli-device'), '', KEY, se);
    assert.equal(result.stdout.trim(), expected.toString());
  });

  test('TPM2TOOLS_TCTI is honoured when --tpm is not given', async () => {
    const result = await run(['show', '--slot', '2'], { env: { TPM2TOOLS_TCTI: swtpm.tcti } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /cli-device/);
  });

  test('a bad connection string is refused with exit code 2 and the key unprinted', async () => {
    const result = await run(['provision', ...tpm, '--slot', '3', '-'],
      { stdin: CS.replace('DeviceId=cli-device', 'DeviceId=bad/id') });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /DeviceId is not a valid IoT Hub identity/);
    assertNoSecret(result);
    assert.equal((await run(['show', ...tpm, '--slot', '3'])).code, 1);
  });

  const usage: [string, string[], RegExp][] = [
    ['no command', [], /Usage:/],
    ['an unknown command', ['frobnicate'], /unknown command "frobnicate"/],
    ['a slot that is not a number', ['show', '--slot', 'x'], /--slot takes a whole number/],
    ['a slot out of range', ['show', '--slot', '10'], /slot must be a whole number from 0 to 9/],
    ['a bad TCTI', ['info', '--tpm', 'tabrmd'], /unsupported TCTI "tabrmd"/],
    ['an unknown option', ['info', '--colour'], /Unknown option '--colour'/],
    ['two connection strings', ['provision', 'a', 'b'], /give one connection string/],
  ];
  for (const [what, args, message] of usage) {
    test(`${what} is bad usage, exit code 2`, async () => {
      const result = await run(args);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
    });
  }

  test('clear empties the slot', async () => {
    const result = await run(['clear', ...tpm, '--slot', '2']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Cleared TPM slot 2/);
    const show = await run(['show', ...tpm, '--slot', '2']);
    assert.equal(show.code, 1);
    assert.equal(show.stdout.trim(), 'slot 2: empty');
  });
});

describe('azure-iot-tpm on a TPM whose owner set a password', () => {
  let swtpm: Swtpm;
  let tpm: string[];

  before(async () => {
    swtpm = await startSwtpm();
    tpm = ['--tpm', swtpm.tcti];
    const stored = await run(['provision', ...tpm, '--slot', '1', '-'], { stdin: CS });
    assert.equal(stored.code, 0, stored.stderr);
    await setOwnerPassword(swtpm.tcti, 'owner-password');
  });
  after(() => swtpm.destroy());

  test('info says so before anyone tries to provision', async () => {
    const result = await run(['info', ...tpm]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout,
      /^Owner hierarchy: has a password; provisioning will be refused until it is removed/m);
  });

  test('provision fails with the fix named, exit code 1, and the slot stays empty', async () => {
    const result = await run(['provision', ...tpm, '-'], { stdin: CS });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /TPM_RC_BAD_AUTH .*the TPM's owner hierarchy has a password/);
    assert.match(result.stderr, /tpm2_changeauth -c owner -p <current password>/);
    assertNoSecret(result);
    const show = await run(['show', ...tpm, '--slot', '0']);
    assert.equal(show.stdout.trim(), 'slot 0: empty');
  });

  test('a key stored before still signs: it has no password of its own', async () => {
    const result = await run(['token', ...tpm, '--slot', '1', '--ttl', '60']);
    assert.equal(result.code, 0, result.stderr);
    const se = Number(/se=(\d+)/.exec(result.stdout)?.[1]);
    const expected = SharedAccessSignature.create(
      encodeUriComponentStrict('cli-hub.azure-devices.net/devices/cli-device'), '', KEY, se);
    assert.equal(result.stdout.trim(), expected.toString());
  });
});
