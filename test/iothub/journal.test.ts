import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { JournalBusyError, MessageJournal, buildMessage } from '../../src/iothub';

const dir = mkdtempSync(join(tmpdir(), 'journal-'));
let files = 0;
const freshPath = (): string => join(dir, `queue-${files++}.jsonl`);

const reading = (i: number) => buildMessage({
  payload: { i, temperature: 21.5 }, properties: { station: 'roof', i }, messageId: `m-${i}`,
  correlationId: `c-${i}`,
});
const bodyOf = (message: { data: unknown }): unknown =>
  JSON.parse((message.data as Buffer).toString('utf8'));

describe('MessageJournal', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('what was not done comes back in order, intact, after a reopen', async () => {
    const path = freshPath();
    const { journal, pending } = await MessageJournal.open(path);
    assert.deepEqual(pending, []);
    const entries = [0, 1, 2, 3].map((i) => journal.add(reading(i)));
    journal.done(entries[1] ?? -1);
    await journal.close();

    const again = await MessageJournal.open(path);
    assert.equal(again.skipped, 0);
    assert.deepEqual(again.pending.map((p) => bodyOf(p.message)),
      [{ i: 0, temperature: 21.5 }, { i: 2, temperature: 21.5 }, { i: 3, temperature: 21.5 }]);
    const first = again.pending[0]?.message;
    assert.equal(first?.messageId, 'm-0');
    assert.equal(first?.correlationId, 'c-0');
    assert.equal(first?.contentType, 'application/json');
    assert.equal(first?.contentEncoding, 'utf-8');
    assert.deepEqual(first?.properties.propertyList, [
      { key: 'station', value: 'roof' }, { key: 'i', value: '0' }]);
    assert.equal(again.journal.size, 3);
    await again.journal.close();
  });

  test('once everything is done, the file is empty', async () => {
    const path = freshPath();
    const { journal } = await MessageJournal.open(path);
    const entries = Array.from({ length: 20 }, (_, i) => journal.add(reading(i)));
    await journal.flushed();
    assert.ok(statSync(path).size > 0);
    for (const entry of entries) journal.done(entry);
    await journal.flushed();
    assert.equal(statSync(path).size, 0);
    await journal.close();
    assert.deepEqual((await reopen(path)).pending, []);
  });

  test('a line cut short by a power failure is skipped; the rest comes back', async () => {
    const path = freshPath();
    const { journal } = await MessageJournal.open(path);
    journal.add(reading(0));
    journal.add(reading(1));
    await journal.close();
    const whole = readFileSync(path, 'utf8');
    const torn = `{"add":2,"message":{"body":"eyJp`;
    writeFileSync(path, whole + torn);

    const again = await MessageJournal.open(path);
    assert.equal(again.skipped, 1);
    assert.deepEqual(again.pending.map((p) => p.message.messageId), ['m-0', 'm-1']);
    assert.ok(!readFileSync(path, 'utf8').includes(torn), 'the torn line stays');
    await again.journal.close();
  });

  test('a file that is not a journal is read as nothing waiting, with no crash', async () => {
    const path = freshPath();
    writeFileSync(path, 'not json\n{"add":"x"}\n[1,2]\n{"add":0,"message":{"nobody":1}}\n');
    const { journal, pending, skipped } = await MessageJournal.open(path);
    assert.deepEqual(pending, []);
    assert.equal(skipped, 4);
    await journal.close();
  });

  test('a long log is rewritten with only what waits', async () => {
    const path = freshPath();
    const { journal } = await MessageJournal.open(path);
    const waiting: number[] = [];
    for (let i = 0; i < 3000; i++) {
      waiting.push(journal.add(reading(i)));
      // Keep the last 50 waiting; everything older is done.
      if (waiting.length > 50) journal.done(waiting.shift() ?? -1);
      if (i % 100 === 0) await journal.flushed();
    }
    await journal.close();
    const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
    assert.ok(lines.length <= 1100, `the file has ${lines.length} lines`);
    const again = await reopen(path);
    assert.deepEqual(again.pending.map((p) => p.message.messageId),
      Array.from({ length: 50 }, (_, i) => `m-${2950 + i}`));
  });

  test('one file, one writer: a second open in the process is refused until close', async () => {
    const path = freshPath();
    const { journal } = await MessageJournal.open(path);
    await assert.rejects(MessageJournal.open(path), JournalBusyError);
    await journal.close();
    await (await MessageJournal.open(path)).journal.close();
  });

  test('a directory that cannot be made is an error with the path, not a crash', async () => {
    const blocker = join(dir, 'a-file');
    writeFileSync(blocker, '');
    await assert.rejects(MessageJournal.open(join(blocker, 'queue.jsonl')), /ENOTDIR|EEXIST/);
  });

  test('a write that fails is said once, and the file is emptied so nothing goes twice',
    async () => {
      const path = freshPath();
      // A file size limit of 2 KiB makes the writes fail as a full disk would (EFBIG).
      const child = spawn('bash', ['-c', `ulimit -f 2 && exec "$0" --import tsx -e "$1"`,
        process.execPath, `
        const { MessageJournal, buildMessage } = require(${JSON.stringify(
          join(__dirname, '../../src/iothub'))});
        MessageJournal.open(${JSON.stringify(path)}).then(async ({ journal }) => {
          const errors = [];
          journal.on('error', (err) => errors.push(err.code));
          for (let i = 0; i < 40; i++) {
            journal.add(buildMessage({ payload: 'x'.repeat(200), messageId: 'big-' + i }));
            await journal.flushed();
          }
          process.stdout.write(JSON.stringify({ errors, healthy: journal.healthy }));
        });
      `], { stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString(); });
      const code = await new Promise((resolve) => child.once('exit', resolve));
      assert.equal(code, 0);
      assert.deepEqual(JSON.parse(output), { errors: ['EFBIG'], healthy: false });
      assert.equal(statSync(path).size, 0);
      assert.deepEqual((await reopen(path)).pending, []);
    });

  test('a process killed outright loses nothing it had written', async () => {
    const path = freshPath();
    // A writer in a process of its own that reports once its lines are on the disk and is
    // then killed with SIGKILL: no close, no exit handler.
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', `
      const { MessageJournal, buildMessage } = require(${JSON.stringify(
        join(__dirname, '../../src/iothub'))});
      MessageJournal.open(${JSON.stringify(path)}).then(async ({ journal }) => {
        for (let i = 0; i < 5; i++) {
          journal.add(buildMessage({ payload: { i }, messageId: 'k-' + i }));
        }
        journal.done(0);
        await journal.flushed();
        process.stdout.write('written\\n');
        setInterval(() => journal.add(buildMessage({ payload: 'later' })), 1);
      });
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('written')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the writer exited with ${code}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const again = await reopen(path);
    assert.deepEqual(again.pending.slice(0, 4).map((p) => p.message.messageId),
      ['k-1', 'k-2', 'k-3', 'k-4']);
  });
});

async function reopen(path: string) {
  const opened = await MessageJournal.open(path);
  await opened.journal.close();
  return opened;
}
