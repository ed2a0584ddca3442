// HubClient with its queue on disk: what waits for the hub survives the client, and the
// process, and goes out from the next one, in order, as the same device.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { TpmIdentity, withStore } from '../../src/identity';
import { HubClient, buildMessage, type HubClientOptions } from '../../src/iothub';
import { startHub, type LocalHub } from '../support/hub';
import { waitingInJournals } from '../support/journal-files';
import { startSwtpm, type Swtpm } from '../support/swtpm';
import { until, wait } from '../support/until';

const STATION = 'journal-station';
const OTHER = 'journal-other';

describe('HubClient with a journal on disk', { timeout: 60_000 }, () => {
  let swtpm: Swtpm;
  let hub: LocalHub;
  let station: TpmIdentity;
  let other: TpmIdentity;
  let dir: string;
  let stationKey: string;
  const clients: HubClient[] = [];

  function open(options: Partial<HubClientOptions> = {}, source = station): HubClient {
    const client = new HubClient({ source, ca: hub.caPem, journalDir: dir,
      reconnectDelayMs: { initial: 100, max: 300 }, ...options });
    clients.push(client);
    return client;
  }

  /** Messages waiting in the device's journal file, read as the next start would. */
  const onDisk = (deviceId: string): number => waitingInJournals(dir, `_${deviceId}_`);

  const ids = (from: number): (string | undefined)[] =>
    hub.messages.slice(from).map((m) => m.messageId);

  before(async () => {
    swtpm = await startSwtpm();
    hub = await startHub();
    stationKey = hub.addDevice(STATION);
    hub.addDevice(OTHER);
    await withStore(swtpm.tcti, async (store) => {
      await store.provision(0, hub.connectionString(STATION));
      await store.provision(1, hub.connectionString(OTHER));
    });
    station = new TpmIdentity({ tpm: swtpm.tcti, slot: 0, tokenTtl: 3600 });
    other = new TpmIdentity({ tpm: swtpm.tcti, slot: 1, tokenTtl: 3600 });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    hub.refuseConnections(false);
    rmSync(dir, { recursive: true, force: true });
  });
  after(async () => {
    await station.close();
    await other.close();
    await hub.stop();
    await swtpm.destroy();
  });

  test('messages waiting at close go out from the next client, first and in order', async () => {
    dir = mkdtempSync(join(tmpdir(), 'hub-journal-'));
    hub.refuseConnections();
    const first = open();
    let settled = 0;
    for (let i = 0; i < 5; i++) {
      first.send(buildMessage({ payload: { i }, messageId: `kept-${i}` }))
        .then(() => settled++, () => settled++);
    }
    await until(() => onDisk(STATION) === 5, 'five messages on disk');
    const logs: string[] = [];
    first.on('log', (_level: string, line: string) => logs.push(line));
    await first.close();
    await wait(50);
    assert.equal(settled, 0, 'a kept message was failed or completed as well');
    assert.match(logs.join('\n'), /5 waiting messages kept in .* for the next start/);

    hub.refuseConnections(false);
    const before = hub.messages.length;
    const second = open();
    await hub.waitForMessages(before + 5);
    await second.send(buildMessage({ payload: 'new', messageId: 'after-restart' }));
    assert.deepEqual(ids(before),
      ['kept-0', 'kept-1', 'kept-2', 'kept-3', 'kept-4', 'after-restart']);
    assert.ok(hub.messages.slice(before).every((m) => m.deviceId === STATION));
    await until(() => onDisk(STATION) === 0, 'the journal emptied');
  });

  test('a process killed outright: its waiting messages go out from the next one', async () => {
    dir = mkdtempSync(join(tmpdir(), 'hub-journal-'));
    hub.refuseConnections();
    // A sender in a process of its own, killed with SIGKILL once its messages are on disk:
    // no close, no exit handler, as in a power cut.
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', `
      const { TpmIdentity } = require(${JSON.stringify(join(__dirname, '../../src/identity'))});
      const { HubClient, buildMessage } =
        require(${JSON.stringify(join(__dirname, '../../src/iothub'))});
      const source = new TpmIdentity({ tpm: ${JSON.stringify(swtpm.tcti)}, slot: 0,
        tokenTtl: 3600 });
      const client = new HubClient({ source, ca: ${JSON.stringify(hub.caPem)},
        journalDir: ${JSON.stringify(dir)} });
      for (let i = 0; i < 3; i++) {
        client.send(buildMessage({ payload: { i }, messageId: 'cut-' + i })).catch(() => {});
      }
    `], { stdio: ['ignore', 'ignore', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      // swtpm serves one client: this process lets go of it while the child holds it.
      await station.close();
      await other.close();
      await until(() => onDisk(STATION) === 3, 'three messages on disk', 30_000);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }

    hub.refuseConnections(false);
    const before = hub.messages.length;
    station = new TpmIdentity({ tpm: swtpm.tcti, slot: 0, tokenTtl: 3600 });
    other = new TpmIdentity({ tpm: swtpm.tcti, slot: 1, tokenTtl: 3600 });
    open();
    await hub.waitForMessages(before + 3);
    assert.deepEqual(ids(before), ['cut-0', 'cut-1', 'cut-2']);
  });

  test('kept messages wait out refused credentials, and go once the key works again',
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'hub-journal-'));
      hub.refuseConnections();
      const first = open();
      for (const id of ['kept-a', 'kept-b']) {
        first.send(buildMessage({ payload: id, messageId: id })).catch(() => undefined);
      }
      await until(() => onDisk(STATION) === 2, 'two messages on disk');
      await first.close();

      hub.revokeDevice(STATION);
      hub.refuseConnections(false);
      const before = hub.messages.length;
      const errors: string[] = [];
      const second = open({ credentialsBackoffMs: { initial: 200, max: 400 } });
      second.on('log', (level: string, line: string) => {
        if (level === 'error') errors.push(line);
      });
      await until(() => errors.length >= 2, 'two refusals, backed off');
      assert.ok(errors.every((e) => /refused the device's credentials/.test(e)), errors[0]);
      assert.equal(onDisk(STATION), 2, 'a kept message was dropped on refusal');
      assert.equal(hub.messages.length, before);

      hub.addDevice(STATION, stationKey);
      await hub.waitForMessages(before + 2, 10_000);
      assert.deepEqual(ids(before), ['kept-a', 'kept-b']);
      await until(() => onDisk(STATION) === 0, 'the journal emptied');
    });

  test('the file belongs to the device in the TPM: another device never sends it', async () => {
    dir = mkdtempSync(join(tmpdir(), 'hub-journal-'));
    hub.refuseConnections();
    const first = open();
    first.send(buildMessage({ payload: 'station only', messageId: 'station-only' }))
      .catch(() => undefined);
    await until(() => onDisk(STATION) === 1, 'the message on disk');
    await first.close();

    hub.refuseConnections(false);
    const before = hub.messages.length;
    const second = open({}, other);
    await second.send(buildMessage({ payload: 'from the other', messageId: 'other-1' }));
    assert.deepEqual(ids(before), ['other-1']);
    assert.equal(hub.messages[before]?.deviceId, OTHER);
    assert.equal(onDisk(STATION), 1, "the station's message is still kept for the station");
  });

  test('a client that starts in memory keeps its queue on disk once asked to', async () => {
    dir = mkdtempSync(join(tmpdir(), 'hub-journal-'));
    hub.refuseConnections();
    const client = open({ journalDir: undefined });
    client.send(buildMessage({ payload: 'before', messageId: 'before' })).catch(() => undefined);
    client.keepOnDisk(dir);
    client.keepOnDisk(join(dir, 'ignored'));
    client.send(buildMessage({ payload: 'after', messageId: 'after' })).catch(() => undefined);
    // What waited in memory when it was asked is kept as well.
    await until(() => onDisk(STATION) === 2, 'both messages on disk');
    assert.ok(!existsSync(join(dir, 'ignored')), 'a second folder was used');
  });

  test('a folder that cannot be written: said once, and the queue works in memory', async () => {
    dir = mkdtempSync(join(tmpdir(), 'hub-journal-'));
    const blocked = join(dir, 'a-file');
    writeFileSync(blocked, '');
    const client = open({ journalDir: join(blocked, 'queue') });
    const warnings: string[] = [];
    client.on('log', (level: string, line: string) => {
      if (level === 'warn') warnings.push(line);
    });
    const before = hub.messages.length;
    await client.send(buildMessage({ payload: 'in memory', messageId: 'memory-1' }));
    await client.send(buildMessage({ payload: 'in memory', messageId: 'memory-2' }));
    assert.deepEqual(ids(before), ['memory-1', 'memory-2']);
    assert.equal(warnings.filter((w) => /kept in memory only/.test(w)).length, 1,
      warnings.join('\n'));
    assert.ok(!existsSync(join(blocked, 'queue')));
  });
});
