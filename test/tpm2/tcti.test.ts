import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TctiError, describeResponseCode, parseTcti } from '../../src/tpm2';

const good: [string | undefined, Record<string, string>, ReturnType<typeof parseTcti>][] = [
  [undefined, {}, { kind: 'device', path: '/dev/tpmrm0' }],
  ['', {}, { kind: 'device', path: '/dev/tpmrm0' }],
  ['', { TPM2TOOLS_TCTI: 'swtpm:port=2400' }, { kind: 'swtpm', host: 'localhost', port: 2400 }],
  ['device:/dev/tpm0', { TPM2TOOLS_TCTI: 'swtpm' }, { kind: 'device', path: '/dev/tpm0' }],
  ['device', {}, { kind: 'device', path: '/dev/tpmrm0' }],
  ['device:', {}, { kind: 'device', path: '/dev/tpmrm0' }],
  ['/dev/tpmrm1', {}, { kind: 'device', path: '/dev/tpmrm1' }],
  ['swtpm', {}, { kind: 'swtpm', host: 'localhost', port: 2321 }],
  ['swtpm:host=127.0.0.1,port=2321', {}, { kind: 'swtpm', host: '127.0.0.1', port: 2321 }],
  ['mssim:port=3000,host=sim', {}, { kind: 'mssim', host: 'sim', port: 3000 }],
  ['  SWTPM:port=1  ', {}, { kind: 'swtpm', host: 'localhost', port: 1 }],
];
for (const [tcti, env, expected] of good) {
  test(`TCTI ${JSON.stringify(tcti)} with ${JSON.stringify(env)}`, () => {
    assert.deepEqual(parseTcti(tcti, env), expected);
  });
}

const bad = ['device:/etc/passwd', '/tmp/x', 'device:/dev/sda', 'tabrmd', 'swtpm:port=99999', 'swtpm:port=abc', 'mssim:bogus=1', 'swtpm:host='];
for (const tcti of bad) {
  test(`TCTI ${JSON.stringify(tcti)} is refused`, () => {
    assert.throws(() => parseTcti(tcti, {}), TctiError);
  });
}

const codes: [number, string, string | undefined][] = [
  [0x18b, 'TPM_RC_HANDLE', 'handle 1'],
  [0x2c2, 'TPM_RC_ATTRIBUTES', 'parameter 2'],
  [0x9a2, 'TPM_RC_BAD_AUTH', 'session 1'],
  [0x095, 'TPM_RC_SIZE', undefined],
  [0x14a, 'TPM_RC_NV_UNINITIALIZED', undefined],
  [0x14c, 'TPM_RC_NV_DEFINED', undefined],
  [0x101, 'TPM_RC_FAILURE', undefined],
  [0x922, 'TPM_RC_RETRY', undefined],
];
for (const [rc, name, position] of codes) {
  test(`response code 0x${rc.toString(16)} is ${name}`, () => {
    const info = describeResponseCode(rc);
    assert.equal(info.name, name);
    assert.equal(info.position, position);
  });
}

test('a refused hierarchy password names the hierarchy and the fix', () => {
  const owner = describeResponseCode(0x9a2, [0x40000001]);
  assert.match(owner.fix ?? '', /owner hierarchy has a password.*tpm2_changeauth -c owner/);
  const secondSession = describeResponseCode(0xa8e, [0x81000100, 0x4000000b]);
  assert.match(secondSession.fix ?? '', /endorsement hierarchy has a password/);
});

test('a refused password on a key or NV index is not blamed on a hierarchy', () => {
  assert.equal(describeResponseCode(0x9a2, [0x81000100]).fix, undefined);
  assert.equal(describeResponseCode(0x9a2).fix, undefined);
  assert.equal(describeResponseCode(0x18e, [0x40000001]).fix, undefined);
});
