import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { SharedAccessSignature, encodeUriComponentStrict } from 'azure-iot-common';
import { IdentityStore } from '../../src/identity';
import {
  HANDLE_RANGE, Tpm, createPrimaryStorageKey, flushContext, getHandles, persistObject,
} from '../../src/tpm2';
import { builtNode, helper, loggedText, type FlowNode } from '../support/node-red';
import { startSwtpm, type Swtpm } from '../support/swtpm';
import { freePort } from '../support/ports';

const KEY = 'bm9kZS1yZWQtdGVzdC1rZXktbm90LWZvci11c2UtISE=';
const HOST = 'panel-hub.azure-devices.net';
const CS = `HostName=${HOST};DeviceId=panel-device;SharedAccessKey=${KEY}`;
const KEY_FORMS = [KEY, Buffer.from(KEY, 'base64').toString('hex'),
  Buffer.from(KEY, 'base64').toString('latin1')];

interface CredentialsNode {
  identity(): Promise<{ deviceId: string; hostName: string }>;
  sasToken(): Promise<{ token: string; expiry: number }>;
}

const tpmCredentials = builtNode('tpm-credentials');

function assertNoSecret(text: string): void {
  for (const form of KEY_FORMS) assert.ok(!text.includes(form), 'a form of the key leaked');
  assert.ok(!text.includes('SharedAccessKey='), 'the connection string leaked');
}

describe('tpm-credentials', () => {
  let swtpm: Swtpm;
  let flow: FlowNode[];

  before(async () => {
    swtpm = await startSwtpm();
    flow = [{ id: 'creds', type: 'tpm-credentials', name: 'station', tpm: swtpm.tcti,
      slot: '1', tokenTtl: '600' }];
    await helper.startServer();
  });
  afterEach(() => helper.unload());
  after(async () => {
    await helper.stopServer();
    await swtpm.destroy();
  });

  test('the status route shows an empty slot of a reachable TPM', async () => {
    await helper.load(tpmCredentials, flow);
    const res = await helper.request().get('/tpm-credentials/status')
      .query({ tpm: swtpm.tcti, slot: 1 });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      tpm: { reachable: true, description: `swtpm at 127.0.0.1:${swtpm.port}`,
        manufacturer: 'IBM', vendor: 'SW   TPM', firmware: (res.body as never)['tpm']['firmware'],
        ownerAuthSet: false, ownerEnabled: true },
      slot: { kind: 'empty' },
    });
  });

  test('an unprovisioned slot is a clear runtime error, and Node-RED keeps running', async () => {
    await helper.load(tpmCredentials, flow);
    const node = helper.getNode('creds') as CredentialsNode;
    await assert.rejects(node.identity(), /TPM slot 1 holds no device identity; store a device/);
    await assert.rejects(node.sasToken(), /holds no device identity/);
  });

  test('a malformed connection string is refused with the reason, TPM untouched', async () => {
    await helper.load(tpmCredentials, flow);
    const bad = CS.replace('DeviceId=panel-device', 'DeviceId=');
    const res = await helper.request().post('/tpm-credentials/provision')
      .send({ tpm: swtpm.tcti, slot: 1, connectionString: bad });
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { error: 'invalid connection string: DeviceId is empty' });
    assertNoSecret(res.text);
    const status = await helper.request().get('/tpm-credentials/status')
      .query({ tpm: swtpm.tcti, slot: 1 });
    assert.deepEqual((status.body as { slot: unknown }).slot, { kind: 'empty' });
  });

  test('stores a connection string and answers with the identity only', async () => {
    await helper.load(tpmCredentials, flow);
    const res = await helper.request().post('/tpm-credentials/provision')
      .send({ tpm: swtpm.tcti, slot: 1, connectionString: CS });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, {
      slot: { kind: 'provisioned', identity: { hostName: HOST, deviceId: 'panel-device' } },
    });
    assertNoSecret(res.text);

    const status = await helper.request().get('/tpm-credentials/status')
      .query({ tpm: swtpm.tcti, slot: '1' });
    assert.deepEqual((status.body as { slot: unknown }).slot,
      { kind: 'provisioned', identity: { hostName: HOST, deviceId: 'panel-device' } });
    assertNoSecret(loggedText());
  });

  test('gives other nodes the identity and SDK-equal tokens, read from the TPM', async () => {
    await helper.load(tpmCredentials, flow);
    const node = helper.getNode('creds') as CredentialsNode;
    assert.deepEqual(await node.identity(), { hostName: HOST, deviceId: 'panel-device' });
    const { token, expiry } = await node.sasToken();
    assert.ok(expiry - Date.now() / 1000 > 590 && expiry - Date.now() / 1000 <= 600);
    const sdk = SharedAccessSignature.create(
      encodeUriComponentStrict(`${HOST}/devices/panel-device`), '', KEY, expiry);
    assert.equal(token, sdk.toString());
  });

  test('refuses to replace a foreign object unless asked to', async () => {
    // Set up before the flow loads: swtpm serves one client, and the node holds it then.
    const tpm = Tpm.open(swtpm.tcti);
    // A storage key persisted at slot 2's handle by "another program".
    await tpm.transaction(async (tx) => {
      const primary = await createPrimaryStorageKey(tx);
      await persistObject(tx, primary, 0x81000102);
      await flushContext(tx, primary);
    });
    await tpm.close();
    await helper.load(tpmCredentials, flow);

    const body = { tpm: swtpm.tcti, slot: 2, connectionString: CS };
    const refused = await helper.request().post('/tpm-credentials/provision').send(body);
    assert.equal(refused.status, 409);
    assert.match((refused.body as { error: string }).error, /slot 2 is taken: .*an ECC key/);
    const forced = await helper.request().post('/tpm-credentials/provision')
      .send({ ...body, force: true });
    assert.equal(forced.status, 200, forced.text);
  });

  test('clears a slot through the admin route', async () => {
    await helper.load(tpmCredentials, flow);
    const res = await helper.request().post('/tpm-credentials/clear')
      .send({ tpm: swtpm.tcti, slot: 2 });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { removed: true, slot: { kind: 'empty' } });
  });

  test('an unreachable TPM shows in the panel and as a runtime error', async () => {
    const port = await freePort();
    const tcti = `swtpm:host=127.0.0.1,port=${port}`;
    await helper.load(tpmCredentials, [{ ...flow[0], id: 'gone', tpm: tcti } as FlowNode]);
    const res = await helper.request().get('/tpm-credentials/status').query({ tpm: tcti, slot: 0 });
    assert.equal(res.status, 200);
    assert.match(JSON.stringify(res.body), /"reachable":false,"error":"nothing listens at/);
    const node = helper.getNode('gone') as CredentialsNode;
    await assert.rejects(node.identity(), /nothing listens at 127\.0\.0\.1:\d+/);
  });

  const badRequests: [string, Record<string, unknown>, number, RegExp][] = [
    ['a file as TPM device', { tpm: 'device:/etc/passwd', slot: 0, connectionString: CS }, 400,
      /TPM character device/],
    ['a slot out of range', { slot: 12, connectionString: CS }, 400, /slot must be a whole number/],
    ['no connection string', { slot: 0 }, 400, /none was sent/],
  ];
  for (const [what, body, status, message] of badRequests) {
    test(`refuses ${what}`, async () => {
      await helper.load(tpmCredentials, flow);
      const res = await helper.request().post('/tpm-credentials/provision').send(body);
      assert.equal(res.status, status);
      assert.match((res.body as { error: string }).error, message);
      assertNoSecret(res.text);
    });
  }

  test('two config nodes on one TPM share one connection and leave nothing loaded', async () => {
    const store = new IdentityStore(Tpm.open(swtpm.tcti));
    await store.provision(3, CS.replace('panel-device', 'second-device'));
    await store.tpm.close();
    await helper.load(tpmCredentials, [
      flow[0] as FlowNode,
      { id: 'creds2', type: 'tpm-credentials', tpm: swtpm.tcti, slot: 3, tokenTtl: 3600 },
    ]);
    const [a, b] = ['creds', 'creds2'].map((id) => helper.getNode(id) as CredentialsNode);
    // swtpm serves one client at a time: a second connection would wait forever.
    const ids = await Promise.all([a?.identity(), b?.identity(), a?.sasToken(), b?.sasToken()]);
    assert.equal(ids[0] && 'deviceId' in ids[0] ? ids[0].deviceId : '', 'panel-device');
    assert.equal(ids[1] && 'deviceId' in ids[1] ? ids[1].deviceId : '', 'second-device');
    await helper.unload();
    const tpm = Tpm.open(swtpm.tcti);
    assert.deepEqual(await getHandles(tpm, HANDLE_RANGE.TRANSIENT, 16), []);
    await tpm.close();
  });
});
