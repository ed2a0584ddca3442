// The Node-RED flow library's scorecard rules, checked locally and offline:
//   node scripts/scorecard.mjs [--dir PACKAGE_ROOT] [--latest NODE_RED_VERSION]
// Prints one line per rule and exits 1 when any fails. Run it after `npm run build`.
// Not checked here: whether dependencies are outdated (that needs the registry).
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const here = dirname(new URL(import.meta.url).pathname);
const { values } = parseArgs({
  options: { dir: { type: 'string', default: join(here, '..') }, latest: { type: 'string' } },
});
const root = values.dir;
const require = createRequire(join(here, '..', 'package.json'));
const semver = require('semver');

const MAX_DEPENDENCIES = 6;
const results = [];
const check = (rule, ok, detail) => results.push({ rule, ok: Boolean(ok), detail });

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const red = pkg['node-red'] ?? {};
const nodeFiles = Object.entries(red.nodes ?? {});

check('license', typeof pkg.license === 'string' && pkg.license !== '' &&
  existsSync(join(root, 'LICENSE')), `${pkg.license ?? 'none'} in package.json, LICENSE file`);

const repository = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
check('repository', typeof repository === 'string' && repository !== '', repository ?? 'none');

check('name', /^(node-red-contrib-[a-z0-9-]+|@[a-z0-9-~][a-z0-9-._~]*\/[a-z0-9-._~]+)$/
  .test(pkg.name ?? ''), `${pkg.name}: node-red-contrib-* or a scoped name`);

const latest = values.latest ?? latestKnownNodeRed();
check('node-red.version', typeof red.version === 'string' &&
  semver.satisfies(latest, red.version), `${red.version ?? 'none'} admits ${latest}`);

check('engines.node', typeof pkg.engines?.node === 'string' &&
  semver.validRange(pkg.engines.node) !== null, pkg.engines?.node ?? 'none');

const dependencies = [...Object.keys(pkg.dependencies ?? {}),
  ...Object.keys(pkg.optionalDependencies ?? {})];
check('dependencies', dependencies.length <= MAX_DEPENDENCIES,
  `${dependencies.length} (at most ${MAX_DEPENDENCIES}): ${dependencies.join(', ')}`);

check('node-red.nodes', nodeFiles.length > 0, `${nodeFiles.length} declared`);
const registered = [];
for (const [type, file] of nodeFiles) {
  const js = join(root, file);
  check(`file of ${type}`, existsSync(js), relative(root, js));
  const html = js.replace(/\.js$/, '.html');
  if (!existsSync(html)) {
    check(`editor file of ${type}`, false, `${relative(root, html)} is missing`);
    continue;
  }
  // The library reads the definition as written: a string literal type and an object
  // literal, not a variable or a call built at run time.
  const source = readFileSync(html, 'utf8');
  const literal = [...source.matchAll(
    /RED\.nodes\.registerType\(\s*(['"])([^'"]+)\1\s*,\s*\{([\s\S]*?)\n\s*\}\s*\)/g)];
  const types = literal.map((m) => m[2]);
  check(`inline registerType in ${relative(root, html)}`, types.includes(type),
    types.length > 0 ? `registers ${types.join(', ')}` : 'no literal registerType');
  for (const m of literal) {
    const config = /category\s*:\s*['"]config['"]/.test(m[3] ?? '');
    registered.push({ type: m[2], config });
  }
}

const examples = listJson(join(root, 'examples'));
check('examples', examples.length > 0, `${examples.length} in examples/`);
const used = new Set();
for (const file of examples) {
  let nodes;
  try {
    nodes = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    check(`example ${relative(root, file)}`, false, `not JSON: ${err.message}`);
    continue;
  }
  for (const node of Array.isArray(nodes) ? nodes : []) used.add(node?.type);
}
for (const { type, config } of registered) {
  if (!config) check(`${type} in an example`, used.has(type), used.has(type) ? 'used' : 'unused');
}

for (const { rule, ok, detail } of results) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${rule}: ${detail}`);
}
const failed = results.filter((r) => !r.ok).length;
console.log(failed === 0 ? 'scorecard: every rule passes' : `scorecard: ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

/** The newest Node-RED this machine knows of: a known floor, and any installed here. */
function latestKnownNodeRed() {
  // The newest release when this was written; newer ones installed locally count too.
  const known = ['5.0.7'];
  for (const candidate of [join(root, 'node_modules/node-red/package.json'),
    join(here, '../node_modules/node-red/package.json')]) {
    if (existsSync(candidate)) known.push(JSON.parse(readFileSync(candidate, 'utf8')).version);
  }
  return known.sort(semver.rcompare)[0];
}

function listJson(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listJson(path);
    return name.endsWith('.json') ? [path] : [];
  });
}
