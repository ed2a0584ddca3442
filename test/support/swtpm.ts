import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';

/** A private swtpm for one test file: its own port pair and state directory. */
export interface Swtpm {
  readonly port: number;
  readonly stateDir: string;
  /** TCTI string for our client and for tpm2-tools. */
  readonly tcti: string;
  readonly pid: number;
  /** Stops the process (by its PID) but keeps the state, as a reboot would. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same state. */
  restart(): Promise<void>;
  /** Stops it and removes the state directory. */
  destroy(): Promise<void>;
}

export async function startSwtpm(stateDir?: string): Promise<Swtpm> {
  const dir = stateDir ?? mkdtempSync(join(tmpdir(), 'swtpm-'));
  const port = await freePort(true);
  let child: ChildProcess | undefined = await launch(dir, port);

  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
    });
  };

  return {
    port,
    stateDir: dir,
    tcti: `swtpm:host=127.0.0.1,port=${port}`,
    get pid(): number {
      return child?.pid ?? -1;
    },
    stop,
    restart: async () => {
      await stop();
      child = await launch(dir, port);
    },
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function launch(dir: string, port: number): Promise<ChildProcess> {
  const child = spawn('swtpm', [
    'socket', '--tpm2',
    '--tpmstate', `dir=${dir}`,
    '--server', `type=tcp,port=${port},bindaddr=127.0.0.1`,
    '--ctrl', `type=tcp,port=${port + 1},bindaddr=127.0.0.1`,
    '--flags', 'not-need-init,startup-clear',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });

  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`swtpm did not start: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`swtpm exited with ${code}: ${stderr}`)));
  });
  failed.catch(() => undefined);
  await Promise.race([waitForPort(port), failed]);
  return child;
}

async function waitForPort(port: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`swtpm did not listen on port ${port}`);
}
