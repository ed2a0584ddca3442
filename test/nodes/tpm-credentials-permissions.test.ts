import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  adminToken, secretsFound, startNodeRed, type NodeRed,
} from '../support/node-red-process';
import { startSwtpm, type Swtpm } from '../support/swtpm';

const KEY = 'cGVybWlzc2lvbnMtdGVzdC1rZXktbm90LWZvci11c2UhIQ==';
const HOST = 'guarded-hub.azure-devices.net';
const CS = `HostName=${HOST};DeviceId=guarded-device;SharedAccessKey=${KEY}`;
const SLOT = 6;
const ADMIN = { username: 'admin', password: 'admin-password-for-tests', permissions: '*' };
const VIEWER = { username: 'viewer', password: 'viewer-password-for-tests', permissions: 'read' };

const raw = Buffer.from(KEY, 'base64');
const SECRETS: Record<string, Buffer> = {
  'the key (base64)': Buffer.from(KEY),
  'the key (base64url)': Buffer.from(raw.toString('base64url')),
  'the key (hex)': Buffer.from(raw.toString('hex')),
  'the key (HEX)': Buffer.from(raw.toString('hex').toUpperCase()),
  'the key (raw bytes)': raw,
  'the key (raw bytes as latin1 in UTF-8)': Buffer.from(raw.toString('latin1'), 'utf8'),
  'the connection string': Buffer.from(CS),
  'a SharedAccessKey field': Buffer.from('SharedAccessKey='),
};

interface Answer {
  status: number;
  text: string;
}

describe('tpm-credentials admin routes behind Node-RED adminAuth', () => {
  let swtpm: Swtpm;
  let nodeRed: NodeRed;
  let adminBearer: string;
  let viewerBearer: string;

  async function call(method: 'GET' | 'POST', route: string, body: unknown, token?: string):
    Promise<Answer> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token !== undefined) headers['authorization'] = `Bearer ${token}`;
    const query = method === 'GET'
      ? `?${new URLSearchParams({ tpm: swtpm.tcti, slot: String(SLOT) })}` : '';
    const res = await fetch(`${nodeRed.url}/tpm-credentials/${route}${query}`, {
      method, headers, ...(method === 'POST' ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, text: await res.text() };
  }

  async function slotNow(): Promise<unknown> {
    const res = await call('GET', 'status', undefined, adminBearer);
    assert.equal(res.status, 200);
    return (JSON.parse(res.text) as { slot?: unknown }).slot;
  }

  before(async () => {
    swtpm = await startSwtpm();
    nodeRed = await startNodeRed({ adminAuth: [ADMIN, VIEWER] });
    adminBearer = await adminToken(nodeRed.url, ADMIN.username, ADMIN.password);
    // Node-RED grants no token wider than the user's permissions.
    viewerBearer = await adminToken(nodeRed.url, VIEWER.username, VIEWER.password, 'read');
  });
  after(async () => {
    await nodeRed.destroy();
    await swtpm.destroy();
  });

  const writes = (): [string, Record<string, unknown>][] => [
    ['provision', { tpm: swtpm.tcti, slot: SLOT, connectionString: CS }],
    ['clear', { tpm: swtpm.tcti, slot: SLOT, force: true }],
  ];

  for (const [who, token] of [['no token', undefined], ['a made-up token', 'not-a-token']]) {
    test(`with ${who}, every route answers 401`, async () => {
      assert.equal((await call('GET', 'status', undefined, token)).status, 401);
      for (const [route, body] of writes()) {
        const res = await call('POST', route, body, token);
        assert.equal(res.status, 401, `POST ${route}`);
        assert.equal(res.text, 'Unauthorized');
      }
      assert.deepEqual(await slotNow(), { kind: 'empty' });
    });
  }

  test('the admin stores a connection string; the answer carries the identity only', async () => {
    const res = await call('POST', 'provision',
      { tpm: swtpm.tcti, slot: SLOT, connectionString: CS }, adminBearer);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), {
      slot: { kind: 'provisioned', identity: { hostName: HOST, deviceId: 'guarded-device' } },
    });
    assert.deepEqual(secretsFound(nodeRed, SECRETS), []);
  });

  test('a read-only user sees the slot, and may neither store nor clear (401)', async () => {
    const status = await call('GET', 'status', undefined, viewerBearer);
    assert.equal(status.status, 200);
    assert.deepEqual((JSON.parse(status.text) as { slot: unknown }).slot,
      { kind: 'provisioned', identity: { hostName: HOST, deviceId: 'guarded-device' } });

    const other = CS.replace('guarded-device', 'intruder-device');
    const provision = await call('POST', 'provision',
      { tpm: swtpm.tcti, slot: SLOT, connectionString: other, force: true }, viewerBearer);
    assert.equal(provision.status, 401);
    assert.equal(provision.text, '');
    const clear = await call('POST', 'clear',
      { tpm: swtpm.tcti, slot: SLOT, force: true }, viewerBearer);
    assert.equal(clear.status, 401);
    assert.equal(clear.text, '');

    assert.deepEqual(await slotNow(),
      { kind: 'provisioned', identity: { hostName: HOST, deviceId: 'guarded-device' } });
  });

  test('neither the key nor the connection string is in any file or in the log', async () => {
    // Stopped first, so everything Node-RED meant to write is on disk.
    await nodeRed.stop();
    assert.match(nodeRed.log(), /Stopped flows/);
    assert.deepEqual(secretsFound(nodeRed, SECRETS), []);
  });
});
