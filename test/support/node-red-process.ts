// A real `node-red` process for end-to-end tests: its own user directory, settings file,
// loopback port and log, with this package installed in it the way a user would have it.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync,
  renameSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { createDecipheriv, createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from './ports';

const PROJECT_ROOT = join(__dirname, '../..');
const PACKAGE_NAME = 'node-red-contrib-azure-iot-tpm';
const RED_JS = require.resolve('node-red/red.js');

// Long enough for a cold start on a slow CI machine; only a limit, never a measurement.
const START_LIMIT_MS = 60_000;
const STOP_LIMIT_MS = 20_000;

export interface AdminUser {
  username: string;
  password: string;
  /** Node-RED permissions: '*', 'read', or a list such as ['flows.read']. */
  permissions: string | string[];
}

export interface NodeRedOptions {
  /** Written as the flows file before Node-RED starts. */
  flows?: unknown[];
  /** Turns on Node-RED's adminAuth with these users (passwords hashed with bcrypt). */
  adminAuth?: AdminUser[];
  /** Extra environment for the Node-RED process. */
  env?: Record<string, string>;
  /** How this package gets into the user directory; a packed tarball unless told. */
  install?: PackageInstall;
  /** Another Node.js and Node-RED than the project's own (node-red devDependency). */
  runtime?: NodeRedRuntime;
  /** Options for `node` itself, before Node-RED's script (e.g. `--expose-gc`). */
  nodeArgs?: string[];
}

/**
 * 'tarball': `npm pack`ed and `npm install`ed, as a user gets it from the registry.
 * 'symlink': the project folder itself, linked into node_modules (no install step).
 */
export type PackageInstall = 'tarball' | 'symlink';

export interface NodeRedRuntime {
  /** The `node` executable to run Node-RED with. */
  node: string;
  /** Node-RED's red.js. */
  redJs: string;
}

export interface NodeRed {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  readonly url: string;
  readonly userDir: string;
  readonly port: number;
  readonly pid: number;
  /** The file the Node-RED log is written to, outside the user directory. */
  readonly logFile: string;
  /** Everything Node-RED wrote to stdout and stderr so far. */
  log(): string;
  /** Resolves once the log matches `pattern`; rejects after `limitMs` or if Node-RED exits. */
  waitForLog(pattern: RegExp, limitMs?: number): Promise<void>;
  /** Stops the process by its PID and waits for it to exit; the files stay. */
  stop(): Promise<void>;
  /** Kills it with SIGKILL, as a power cut would: no close handler runs. */
  kill(): Promise<void>;
  /** Starts it again (stopping it first if it runs) on the same user directory and port. */
  restart(): Promise<void>;
  /** Stops it and removes the user directory and the log. */
  destroy(): Promise<void>;
}

/** The credential secret every test Node-RED encrypts flows_cred.json with. */
export const TEST_CREDENTIAL_SECRET = 'node-red-process test secret, not for use';

interface Bcrypt {
  hashSync(password: string, rounds: number): string;
}

export async function startNodeRed(options: NodeRedOptions = {}): Promise<NodeRed> {
  const root = mkdtempSync(join(tmpdir(), 'node-red-'));
  const userDir = join(root, 'user');
  const logFile = join(root, 'node-red.log');
  mkdirSync(userDir);
  writeFileSync(logFile, '');

  const settingsFile = join(userDir, 'settings.js');
  let port: number;
  try {
    port = await freePort();
    writeFileSync(settingsFile, settingsSource(port, options.adminAuth));
    if (options.flows) {
      writeFileSync(join(userDir, 'flows.json'), JSON.stringify(options.flows, null, 2));
    }
    installPackage(userDir, options.install);
  } catch (err) {
    rmSync(root, { recursive: true, force: true });
    throw err;
  }

  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  // Set by `node --test` for its children; Node-RED is not one of them.
  delete env['NODE_TEST_CONTEXT'];

  let text = '';
  const record = (chunk: Buffer): void => {
    const part = chunk.toString('utf8');
    text += part;
    appendFileSync(logFile, part);
  };
  const launch = (): { child: ChildProcess; exited: Promise<void> } => {
    const child = spawn(options.runtime?.node ?? process.execPath,
      [...(options.nodeArgs ?? []), options.runtime?.redJs ?? RED_JS,
        '--userDir', userDir, '--settings', settingsFile],
      { cwd: userDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid === undefined) throw new Error('node-red did not start');
    // Should the test process end without stop(), Node-RED must not outlive it.
    const orphaned = (): void => { child.kill('SIGKILL'); };
    process.once('exit', orphaned);
    child.once('exit', () => process.removeListener('exit', orphaned));
    child.stdout?.on('data', record);
    child.stderr?.on('data', record);
    return { child, exited: new Promise<void>((resolve) => child.once('exit', () => resolve())) };
  };
  let current = launch();

  const url = `http://127.0.0.1:${port}`;
  const handle: NodeRed = {
    url, userDir, port, logFile,
    get pid(): number {
      return current.child.pid ?? -1;
    },
    log: () => text,
    waitForLog: (pattern, limitMs = START_LIMIT_MS) =>
      waitFor(() => pattern.test(text), current.child, limitMs,
        () => `Node-RED never logged ${pattern}; its log:\n${text}`),
    stop: () => stopProcess(current.child, current.exited),
    kill: async () => {
      current.child.kill('SIGKILL');
      await current.exited;
    },
    restart: async () => {
      await stopProcess(current.child, current.exited);
      current = launch();
      await waitForHttp(url, current.child, () => text);
    },
    destroy: async () => {
      await stopProcess(current.child, current.exited);
      rmSync(root, { recursive: true, force: true });
    },
  };

  try {
    await waitForHttp(url, current.child, () => text);
  } catch (err) {
    await handle.destroy();
    throw err;
  }
  return handle;
}

/**
 * Makes this package visible to Node-RED as an installed module: listed in the user
 * directory's package.json and present under its node_modules. By default it is packed
 * and installed with npm as a user would; see PackageInstall.
 */
export function installPackage(userDir: string, how: PackageInstall = 'tarball'): void {
  if (how === 'tarball') {
    installTarball(userDir);
    return;
  }
  writeFileSync(join(userDir, 'package.json'), JSON.stringify({
    name: 'node-red-project',
    private: true,
    dependencies: { [PACKAGE_NAME]: `file:${PROJECT_ROOT}` },
  }, null, 2));
  mkdirSync(join(userDir, 'node_modules'), { recursive: true });
  symlinkSync(PROJECT_ROOT, join(userDir, 'node_modules', PACKAGE_NAME), 'dir');
}

/** Where installs of one tarball are kept between test files and runs. */
const INSTALL_CACHE = join(tmpdir(), `${PACKAGE_NAME}-installs`);
let packed: { tarball: string; digest: string } | undefined;

/**
 * `npm pack` of the built project, once per test process. Its scripts are skipped: the
 * prepack build would replace dist/ under the feet of other test files.
 */
export function packProject(): { tarball: string; digest: string } {
  if (packed) return packed;
  const dir = mkdtempSync(join(tmpdir(), 'node-red-pack-'));
  const output = execFileSync('npm', ['pack', '--ignore-scripts', '--silent',
    '--pack-destination', dir], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  const name = output.trim().split('\n').pop();
  if (!name) throw new Error('npm pack named no tarball');
  const tarball = join(dir, name);
  const digest = createHash('sha256').update(readFileSync(tarball)).digest('hex').slice(0, 16);
  packed = { tarball, digest };
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return packed;
}

/**
 * `npm install <tarball>` into a user directory. npm runs once per distinct tarball (from
 * the local cache where it can); later user directories get a copy of that install.
 */
function installTarball(userDir: string): void {
  const { tarball, digest } = packProject();
  const installed = join(INSTALL_CACHE, digest);
  if (!existsSync(join(installed, 'node_modules', PACKAGE_NAME, 'package.json'))) {
    mkdirSync(INSTALL_CACHE, { recursive: true });
    const work = mkdtempSync(join(INSTALL_CACHE, 'work-'));
    try {
      cpSync(tarball, join(work, 'package.tgz'));
      writeFileSync(join(work, 'package.json'),
        JSON.stringify({ name: 'node-red-project', private: true }, null, 2));
      execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund',
        '--loglevel=error', './package.tgz'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
      try {
        renameSync(work, installed);
      } catch (err) {
        // Another test file may have finished the same install first; either will do.
        if (!existsSync(installed)) throw err;
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  cpSync(join(installed, 'package.tgz'), join(userDir, 'package.tgz'));
  cpSync(join(installed, 'package.json'), join(userDir, 'package.json'));
  cpSync(join(installed, 'node_modules'), join(userDir, 'node_modules'),
    { recursive: true, verbatimSymlinks: true });
}

/**
 * An access token from Node-RED's adminAuth, as the node-red-admin tool gets one. Node-RED
 * refuses (403) a scope wider than the user's permissions: a 'read' user must ask for 'read'.
 */
export async function adminToken(url: string, username: string, password: string,
  scope = '*'): Promise<string> {
  const res = await fetch(`${url}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope,
      username, password }),
  });
  if (res.status !== 200) throw new Error(`no token for ${username}: HTTP ${res.status}`);
  const body = await res.json() as { access_token?: unknown };
  if (typeof body.access_token !== 'string') throw new Error(`no token for ${username}`);
  return body.access_token;
}

/** Every regular file under `dir`, depth first, with its contents. */
export function filesUnder(dir: string): { path: string; bytes: Buffer }[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    // Installed code, not Node-RED's files: the package symlink (into the project itself),
    // node_modules and the packed tarball.
    if (entry.isSymbolicLink() || entry.name === 'node_modules' || entry.name === 'package.tgz') {
      return [];
    }
    if (entry.isDirectory()) return filesUnder(path);
    return entry.isFile() ? [{ path, bytes: readFileSync(path) }] : [];
  });
}

/**
 * Where any of the named secrets occurs: in a file under the user directory (byte for
 * byte), in flows_cred.json once decrypted with the test secret, or in the log. The answer
 * names the secret and the place, never the secret itself, so it is safe in test output.
 */
export function secretsFound(nodeRed: NodeRed, secrets: Record<string, Buffer>): string[] {
  const places = filesUnder(nodeRed.userDir).map(({ path, bytes }) =>
    ({ place: path.slice(nodeRed.userDir.length + 1), bytes }));
  const credentials = decryptedCredentials(nodeRed.userDir);
  if (credentials !== undefined) {
    places.push({ place: 'flows_cred.json, decrypted', bytes: credentials });
  }
  places.push({ place: 'the Node-RED log', bytes: Buffer.from(nodeRed.log(), 'utf8') });

  return places.flatMap(({ place, bytes }) => Object.entries(secrets)
    .filter(([, secret]) => bytes.includes(secret))
    .map(([name]) => `${name} in ${place}`));
}

/** flows_cred.json as plain JSON bytes, decrypted the way Node-RED encrypts it. */
export function decryptedCredentials(userDir: string): Buffer | undefined {
  let sealed: unknown;
  try {
    sealed = JSON.parse(readFileSync(join(userDir, 'flows_cred.json'), 'utf8'));
  } catch {
    return undefined;
  }
  const text = (sealed as { $?: unknown }).$;
  if (typeof text !== 'string') return Buffer.from(JSON.stringify(sealed), 'utf8');
  // AES-256-CTR keyed by SHA-256 of the secret; 16-byte IV in hex, then base64 ciphertext.
  const key = createHash('sha256').update(TEST_CREDENTIAL_SECRET).digest();
  const decipher = createDecipheriv('aes-256-ctr', key, Buffer.from(text.slice(0, 32), 'hex'));
  return Buffer.concat([decipher.update(Buffer.from(text.slice(32), 'base64')),
    decipher.final()]);
}

function settingsSource(port: number, users: AdminUser[] | undefined): string {
  const settings: Record<string, unknown> = {
    uiHost: '127.0.0.1',
    uiPort: port,
    flowFile: 'flows.json',
    credentialSecret: TEST_CREDENTIAL_SECRET,
    logging: { console: { level: 'info', metrics: false, audit: false } },
    telemetry: { enabled: false, updateNotification: false },
    editorTheme: { tours: false, projects: { enabled: false } },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
  };
  if (users) {
    const bcrypt = createRequire(dirname(RED_JS) + '/')('bcryptjs') as Bcrypt;
    settings['adminAuth'] = {
      type: 'credentials',
      users: users.map((user) => ({
        username: user.username,
        password: bcrypt.hashSync(user.password, 8),
        permissions: user.permissions,
      })),
    };
  }
  return `module.exports = ${JSON.stringify(settings, null, 2)};\n`;
}

async function waitForHttp(url: string, child: ChildProcess, log: () => string):
  Promise<void> {
  // /auth/login answers 200 with or without adminAuth, once the admin API is mounted.
  await waitFor(async () => {
    try {
      return (await fetch(`${url}/auth/login`)).status === 200;
    } catch {
      return false;
    }
  }, child, START_LIMIT_MS, () => `Node-RED did not answer at ${url}; its log:\n${log()}`);
}

async function waitFor(
  ready: () => boolean | Promise<boolean>,
  child: ChildProcess,
  limitMs: number,
  failure: () => string,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    if (await ready()) return;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`Node-RED exited (${child.exitCode ?? child.signalCode}). ${failure()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(failure());
}

async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // SIGTERM lets Node-RED close its nodes, which hands the TPM connection back.
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(true), STOP_LIMIT_MS);
  });
  const tooLate = await Promise.race([exited.then(() => false), late]);
  clearTimeout(timer);
  if (tooLate) {
    child.kill('SIGKILL');
    await exited;
  }
}
