// Compiles the TypeScript and lays the editor files beside the compiled nodes, where the
// Node-RED loader looks for them (same base name, locales/ and icons/ next to the .js).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, rmSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', root],
  { stdio: 'inherit' });

const from = join(root, 'nodes');
const to = join(root, 'dist/nodes');
for (const entry of existsSync(from) ? readdirSync(from) : []) {
  if (entry.endsWith('.html') || entry === 'locales' || entry === 'icons') {
    cpSync(join(from, entry), join(to, entry), { recursive: true });
  }
}
const cli = join(root, 'dist/src/cli/main.js');
if (existsSync(cli)) chmodSync(cli, 0o755);
