// The demo: the weather-station example in Node-RED on 127.0.0.1:1880, with a private
// swtpm for the TPM, the simulated BME280 and the local IoT Hub. Everything it keeps is
// under .demo/; Ctrl-C stops every process it started.
//   bash scripts/demo.sh        (installs, builds, then runs this with tsx)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { adaptExample } from '../test/e2e/support/weather-flow';
import { startSwtpm, type Swtpm } from '../test/support/swtpm';

const ROOT = join(__dirname, '..');
const DEMO = join(ROOT, '.demo');
const USER_DIR = join(DEMO, 'node-red');
const PACKAGE = 'node-red-contrib-azure-iot-tpm';
const DEVICE = 'weather-station-demo';
const SLOT = 0;
const EVERY_SECONDS = 5;
const PORT = Number(process.env['DEMO_PORT'] ?? 1880);
// Limits for waiting on a child, never measurements.
const READY_LIMIT_MS = 60_000;
const STOP_LIMIT_MS = 20_000;

interface Hub {
  child: ChildProcess;
  host: string;
  ca: string;
}

const children: ChildProcess[] = [];
let swtpm: Swtpm | undefined;
let stopping = false;

function say(line: string): void {
  console.log(`demo: ${line}`);
}

/** Waits for `child` to print a line matching each pattern; resolves with the matches. */
function expectLines(child: ChildProcess, what: string, patterns: RegExp[],
  onLine: (line: string) => void): Promise<RegExpExecArray[]> {
  return new Promise((resolve, reject) => {
    const found: RegExpExecArray[] = [];
    const timer = setTimeout(() => reject(new Error(`${what} did not get ready`)),
      READY_LIMIT_MS);
    const lines = createInterface({ input: child.stdout ?? process.stdin });
    lines.on('line', (line) => {
      const next = patterns[found.length];
      const match = next?.exec(line);
      if (match) {
        found.push(match);
        if (found.length === patterns.length) {
          clearTimeout(timer);
          resolve(found);
        }
      }
      onLine(line);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? 'signal'}) before it was ready`));
    });
  });
}

function track(child: ChildProcess, what: string): ChildProcess {
  children.push(child);
  child.once('exit', (code, signal) => {
    if (!stopping) {
      say(`${what} stopped unexpectedly (${code ?? signal ?? '?'}); stopping the demo`);
      void shutdown(1);
    }
  });
  return child;
}

async function startHub(): Promise<Hub> {
  const csFile = join(DEMO, 'connection-string');
  rmSync(csFile, { force: true });
  const child = track(spawn(process.execPath, ['--import', 'tsx',
    join(ROOT, 'test/support/hub/cli.ts'), '--device', DEVICE,
    '--connection-string-file', csFile],
  // Detached, like Node-RED: Ctrl-C reaches only this script, which stops them in order.
  { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], detached: true }),
  'the local hub');
  const [host, ca] = await expectLines(child, 'the local hub',
    [/^host: (\S+)$/, /^ca: (.+)$/, /^ready$/], (line) => {
      // One line per message the hub accepted, and its state changes.
      if (line.startsWith('message: ')) console.log(`hub received ${line.slice(9)}`);
      else if (line.startsWith('hub: ')) console.log(line);
    });
  if (!host?.[1] || !ca?.[1]) throw new Error('the local hub named no host or CA');

  // The connection string goes from its 0600 file straight into the CLI's standard input,
  // and the file is gone once the key is in the TPM.
  try {
    await provision(csFile);
  } finally {
    rmSync(csFile, { force: true });
  }
  return { child, host: host[1], ca: ca[1] };
}

function provision(csFile: string): Promise<void> {
  if (!swtpm) throw new Error('no TPM');
  const cli = spawn(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), 'provision',
    '--tpm', swtpm.tcti, '--slot', String(SLOT), '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  createReadStream(csFile).pipe(cli.stdin);
  let said = '';
  cli.stdout.on('data', (chunk: Buffer) => { said += chunk.toString(); });
  cli.stderr.on('data', (chunk: Buffer) => { said += chunk.toString(); });
  return new Promise((resolve, reject) => {
    cli.once('error', reject);
    cli.once('close', (code) => {
      if (code === 0) {
        say(said.split('\n')[0] ?? 'provisioned');
        resolve();
      } else {
        reject(new Error(`provisioning failed (exit ${code}): ${said.trim()}`));
      }
    });
  });
}

/** The package as a user has it: packed, and installed with npm into the user directory. */
function installPackage(): void {
  mkdirSync(USER_DIR, { recursive: true });
  const packDir = join(DEMO, 'pack');
  rmSync(packDir, { recursive: true, force: true });
  mkdirSync(packDir);
  const name = execFileSync('npm', ['pack', '--ignore-scripts', '--silent',
    '--pack-destination', packDir], { cwd: ROOT, encoding: 'utf8' }).trim().split('\n').pop();
  if (!name) throw new Error('npm pack named no tarball');
  const tarball = join(packDir, name);
  const digest = createHash('sha256').update(readFileSync(tarball)).digest('hex');
  const stamp = join(USER_DIR, '.installed-package');
  const installed = join(USER_DIR, 'node_modules', PACKAGE, 'package.json');
  if (existsSync(installed) && existsSync(stamp) && readFileSync(stamp, 'utf8') === digest) {
    say('the package is installed already (same tarball)');
    return;
  }
  say(`installing ${name} into .demo/node-red with npm`);
  if (!existsSync(join(USER_DIR, 'package.json'))) {
    writeFileSync(join(USER_DIR, 'package.json'),
      JSON.stringify({ name: 'node-red-demo', private: true }, null, 2));
  }
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund',
    '--loglevel=error', tarball], { cwd: USER_DIR, stdio: ['ignore', 'inherit', 'inherit'] });
  writeFileSync(stamp, digest);
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function startNodeRed(hub: Hub): Promise<void> {
  if (!swtpm) throw new Error('no TPM');
  const flows = adaptExample({ tpm: swtpm.tcti, ca: hub.ca, everySeconds: EVERY_SECONDS });
  writeFileSync(join(USER_DIR, 'flows.json'), JSON.stringify(flows, null, 2));
  const settings = join(USER_DIR, 'settings.js');
  writeFileSync(settings, `module.exports = ${JSON.stringify({
    uiHost: '127.0.0.1',
    uiPort: PORT,
    flowFile: 'flows.json',
    logging: { console: { level: 'info', metrics: false, audit: false } },
    telemetry: { enabled: false, updateNotification: false },
    editorTheme: { tours: false, projects: { enabled: false } },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
  }, null, 2)};\n`);

  const log = createWriteStream(join(DEMO, 'node-red.log'));
  const child = track(spawn(process.execPath, [require.resolve('node-red/red.js'),
    '--userDir', USER_DIR, '--settings', settings],
  { cwd: USER_DIR, stdio: ['ignore', 'pipe', 'pipe'], detached: true }), 'Node-RED');
  child.stderr?.pipe(log);
  await expectLines(child, 'Node-RED', [/Started flows/], (line) => {
    log.write(`${line}\n`);
    // What an operator needs: errors, the nodes' warnings and the device in use.
    if (/\[error\]|\[warn\] \[|\] device .* in TPM slot/.test(line)) {
      console.log(`node-red: ${line.replace(/^.*? - /, '')}`);
    }
  });
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  say('stopping Node-RED, the hub and the TPM');
  // Node-RED first: it closes its TPM connection and hub link cleanly.
  for (const child of [...children].reverse()) await stopChild(child);
  await swtpm?.stop();
  say('everything stopped');
  process.exit(code);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), STOP_LIMIT_MS);
  });
  if (await Promise.race([exited.then(() => false), late])) {
    process.kill(child.pid, 'SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

async function main(): Promise<void> {
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
  // Should this process die without shutdown(), its children must not outlive it.
  process.once('exit', () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });
  if (!(await portIsFree(PORT))) {
    throw new Error(`port ${PORT} on 127.0.0.1 is taken; stop what uses it, ` +
      'or choose another with DEMO_PORT=<port>');
  }

  mkdirSync(DEMO, { recursive: true });
  installPackage();
  mkdirSync(join(DEMO, 'tpm'), { recursive: true });
  swtpm = await startSwtpm(join(DEMO, 'tpm'));
  const swtpmPid = swtpm.pid;
  say(`swtpm (pid ${swtpmPid}) at ${swtpm.tcti}, state in .demo/tpm`);
  const hub = await startHub();
  say(`local IoT Hub (pid ${hub.child.pid ?? '?'}) at ${hub.host}, CA ${hub.ca}`);
  await startNodeRed(hub);
  const editor = `http://127.0.0.1:${PORT}`;
  say(`Node-RED (pid ${children.at(-1)?.pid ?? '?'}) runs the weather-station flow`);
  console.log('');
  console.log(`  Open ${editor} and the debug sidebar (the bug icon, top right): a reading`);
  console.log(`  every ${EVERY_SECONDS} s and, once the hub accepted it, the message as sent.`);
  console.log('  Below, one line per message the hub received. Ctrl-C stops everything.');
  console.log(`  Node-RED's log: .demo/node-red.log`);
  console.log('');
}

main().catch((err: unknown) => {
  say(`failed: ${err instanceof Error ? err.message : String(err)}`);
  void shutdown(1);
});
