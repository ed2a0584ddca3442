import { EventEmitter } from 'node:events';
import { mkdir, open, readFile, rename, truncate, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Message } from 'azure-iot-common';
import { restoreMessage, storeMessage, type StoredMessage } from './stored-message';

/** A message read back from the file, with its entry number there. */
export interface JournalEntry {
  readonly entry: number;
  readonly message: Message;
}

export interface OpenedJournal {
  readonly journal: MessageJournal;
  /** The messages still waiting when the file was last written, oldest first. */
  readonly pending: readonly JournalEntry[];
  /** Lines that could not be read back, such as one cut short by a power failure. */
  readonly skipped: number;
}

/** The file is in use by another client of this process. */
export class JournalBusyError extends Error {
  override name = 'JournalBusyError';
}

// Rewrite the file with only the waiting messages once it holds this many lines and
// more than twice as many as are waiting.
const COMPACT_LINES = 1000;
const FILE_MODE = 0o600;

// Two clients appending to one file would corrupt it; one process, one writer per file.
const inUse = new Set<string>();

/**
 * The messages waiting for IoT Hub, kept in a file so that a restart, a crash or a power
 * cut loses none. The file is a log of JSON lines, `{"add":n,"message":...}` when a
 * message starts waiting and `{"done":n}` when it stops; a line counts as written once it
 * is on the disk (fdatasync). Lines are batched, so at thousands of messages a second one
 * write and one sync serve many. When nothing waits the file is emptied, and when it has
 * grown long it is rewritten with only what waits.
 *
 * A failed write (a full disk) is reported once with 'error'; the file is emptied, nothing
 * more is written, and the caller's queue in memory is all there is.
 */
export class MessageJournal extends EventEmitter {
  private readonly waiting = new Map<number, string>();
  private buffer: string[] = [];
  private lines: number;
  private nextEntry: number;
  private chain: Promise<void> = Promise.resolve();
  private scheduled = false;
  private failed = false;
  private closed = false;

  private constructor(readonly path: string, private handle: FileHandle,
    pending: readonly JournalEntry[], lines: readonly string[]) {
    super();
    pending.forEach(({ entry }, i) => this.waiting.set(entry, lines[i] ?? ''));
    this.lines = pending.length;
    this.nextEntry = pending.length;
  }

  /**
   * Reads what was waiting and opens the file for appending. The file is written afresh
   * first, renumbered, so that a torn last line goes and the log starts short.
   */
  static async open(path: string): Promise<OpenedJournal> {
    if (inUse.has(path)) throw new JournalBusyError(`${path} is in use by another client`);
    inUse.add(path);
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const { stored, skipped: unreadable } = parse(await readIfThere(path));

      const pending: JournalEntry[] = [];
      const lines: string[] = [];
      let skipped = unreadable;
      for (const raw of stored) {
        try {
          const entry = pending.length;
          const message = restoreMessage(raw);
          pending.push({ entry, message });
          lines.push(addLine(entry, storeMessage(message)));
        } catch {
          skipped++;
        }
      }
      await replaceDurably(path, lines.join(''));
      const handle = await open(path, 'a', FILE_MODE);
      return { journal: new MessageJournal(path, handle, pending, lines), pending, skipped };
    } catch (err) {
      inUse.delete(path);
      throw err;
    }
  }

  /**
   * False once a write has failed: from then on nothing reaches the disk, and what waits
   * is safe only in memory. Stays true after close, when the file holds what waited.
   */
  get healthy(): boolean {
    return !this.failed;
  }

  /** How many messages wait. */
  get size(): number {
    return this.waiting.size;
  }

  /** Records a message that starts waiting; returns its entry number for done(). */
  add(message: Message): number {
    const entry = this.nextEntry++;
    const line = addLine(entry, storeMessage(message));
    this.waiting.set(entry, line);
    this.write(line);
    return entry;
  }

  /** Records that a message no longer waits: the hub took it, or it failed for good. */
  done(entry: number): void {
    if (!this.waiting.delete(entry)) return;
    this.write(`${JSON.stringify({ done: entry })}\n`);
  }

  /** Resolves once every line so far is on the disk (or writing has failed). */
  flushed(): Promise<void> {
    this.flush();
    return this.chain;
  }

  /** Writes what is left and closes the file; what waits stays in it for next time. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flushed();
    this.closed = true;
    await this.handle.close().catch(() => undefined);
    inUse.delete(this.path);
  }

  private write(line: string): void {
    if (this.failed || this.closed) return;
    this.buffer.push(line);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const lines = this.buffer;
    this.buffer = [];
    if (lines.length === 0) return;
    this.chain = this.chain.then(() => this.persist(lines)).catch(async (err: unknown) => {
      this.failed = true;
      // The queue in memory is all there is now: what the file holds must not come back
      // at the next start as well, or it would go out twice.
      await truncate(this.path, 0).catch(() => undefined);
      this.emit('error', err);
    });
  }

  private async persist(lines: readonly string[]): Promise<void> {
    if (this.failed) return;
    if (this.waiting.size === 0) {
      // Every message ever added is done: an empty file says as much as the whole log.
      await this.handle.truncate(0);
      await this.handle.datasync();
      this.lines = 0;
    } else if (this.lines + lines.length > Math.max(COMPACT_LINES, 2 * this.waiting.size)) {
      await this.handle.close();
      await replaceDurably(this.path, [...this.waiting.values()].join(''));
      this.handle = await open(this.path, 'a', FILE_MODE);
      this.lines = this.waiting.size;
    } else {
      await this.handle.write(lines.join(''));
      await this.handle.datasync();
      this.lines += lines.length;
    }
  }
}

function addLine(entry: number, message: StoredMessage): string {
  return `${JSON.stringify({ add: entry, message })}\n`;
}

async function readIfThere(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}

/** The messages still waiting at the end of the log, oldest first. */
function parse(text: string): { stored: unknown[]; skipped: number } {
  const waiting = new Map<number, unknown>();
  let skipped = 0;
  for (const raw of text.split('\n')) {
    if (raw.trim() === '') continue;
    let line: unknown;
    try {
      line = JSON.parse(raw);
    } catch {
      skipped++;
      continue;
    }
    const record = (typeof line === 'object' && line !== null ? line : {}) as
      Record<string, unknown>;
    if (Number.isInteger(record['add']) && 'message' in record) {
      waiting.set(record['add'] as number, record['message']);
    } else if (Number.isInteger(record['done'])) {
      waiting.delete(record['done'] as number);
    } else {
      skipped++;
    }
  }
  const stored = [...waiting.entries()].sort(([a], [b]) => a - b).map(([, message]) => message);
  return { stored, skipped };
}

/**
 * Replaces the file's contents so that a power cut leaves either the old or the new: a
 * temporary file, synced, renamed over it, and the directory synced for the rename.
 */
async function replaceDurably(path: string, text: string): Promise<void> {
  const temporary = `${path}.tmp`;
  const file = await open(temporary, 'w', FILE_MODE);
  try {
    await file.write(text);
    await file.datasync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
