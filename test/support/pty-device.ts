// A TPM character device in front of a real swtpm (see pty-tpm.py): what the device
// transport opens, writes a command to and reads a response from, as from /dev/tpmrm0.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// Waiting limit only; it measures nothing.
const START_LIMIT_MS = 10_000;

export interface PtyTpm {
  /** The device path, /dev/pts/N. */
  readonly path: string;
  readonly pid: number;
  /** The next command is swallowed and never answered. */
  hang(): Promise<void>;
  /** Every later command is answered `ms` milliseconds late. */
  delay(ms: number): Promise<void>;
  /** The device goes away for good, as an unplugged TPM. */
  vanish(): Promise<void>;
  /** Stops the relay by its PID. */
  stop(): Promise<void>;
}

export async function startPtyTpm(swtpmPort: number): Promise<PtyTpm> {
  const child = spawn('python3', [join(__dirname, 'pty-tpm.py'), String(swtpmPort)],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  const received: string[] = [];
  lines.on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter) waiter(line);
    else received.push(line);
  });
  const nextLine = (): Promise<string> => new Promise((resolve, reject) => {
    const early = received.shift();
    if (early !== undefined) return resolve(early);
    const timer = setTimeout(() => reject(new Error('the pty TPM relay did not answer')),
      START_LIMIT_MS);
    waiting.push((line) => { clearTimeout(timer); resolve(line); });
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const control = async (line: string): Promise<void> => {
    child.stdin.write(`${line}\n`);
    const answer = await nextLine();
    if (answer !== `ok ${line}`) throw new Error(`the pty TPM relay answered "${answer}"`);
  };

  const path = await Promise.race([
    nextLine(),
    exited.then(() => { throw new Error('the pty TPM relay exited before it started'); }),
  ]);
  return {
    path,
    pid: child.pid ?? -1,
    hang: () => control('hang'),
    delay: (ms) => control(`delay ${ms}`),
    vanish: () => control('vanish'),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
