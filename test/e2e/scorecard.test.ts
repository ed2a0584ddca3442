// The flow library's scorecard rules (scripts/scorecard.mjs) on the built package, and on
// copies of it broken one rule at a time, so a passing scorecard means something.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

const ROOT = join(__dirname, '../..');
const SCORECARD = join(ROOT, 'scripts/scorecard.mjs');

interface Outcome {
  code: number | null;
  lines: string[];
}

function scorecard(dir: string, latest?: string): Outcome {
  const args = [SCORECARD, '--dir', dir, ...(latest ? ['--latest', latest] : [])];
  const run = spawnSync(process.execPath, args, { encoding: 'utf8' });
  return { code: run.status, lines: `${run.stdout}${run.stderr}`.trim().split('\n') };
}

function failures(outcome: Outcome): string[] {
  return outcome.lines.filter((line) => line.startsWith('FAIL')).map((line) =>
    line.replace(/^FAIL\s+/, '').replace(/:.*$/, ''));
}

type PackageJson = Record<string, unknown> & {
  'node-red': { version?: string; nodes: Record<string, string> };
};

describe('flow library scorecard', () => {
  const copies: string[] = [];
  after(() => {
    for (const dir of copies) rmSync(dir, { recursive: true, force: true });
  });

  /** The built package's published parts in a temp dir, changed by `breakIt`. */
  function brokenCopy(breakIt: (dir: string, pkg: PackageJson) => void): string {
    const dir = mkdtempSync(join(tmpdir(), 'scorecard-'));
    copies.push(dir);
    for (const part of ['LICENSE', 'examples', 'dist/nodes']) {
      cpSync(join(ROOT, part), join(dir, part), { recursive: true });
    }
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
    breakIt(dir, pkg);
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
    return dir;
  }

  test('the built package passes every rule', () => {
    const outcome = scorecard(ROOT);
    assert.deepEqual(failures(outcome), [], outcome.lines.join('\n'));
    assert.equal(outcome.code, 0);
    assert.equal(outcome.lines.at(-1), 'scorecard: every rule passes');
    for (const type of ['bme280-sensor', 'azure-iot-hub-out']) {
      assert.ok(outcome.lines.includes(`ok   ${type} in an example: used`), type);
    }
  });

  test('the package admits the Node-RED 5 release line', () => {
    assert.deepEqual(failures(scorecard(ROOT, '5.9.0')), []);
  });

  const cases: [string, (dir: string, pkg: PackageJson) => void, string[]][] = [
    ['no license, repository or engines', (_dir, pkg) => {
      delete pkg['license'];
      delete pkg['repository'];
      delete pkg['engines'];
    }, ['license', 'repository', 'engines.node']],
    ['a name outside node-red-contrib-*', (_dir, pkg) => { pkg['name'] = 'azure-iot-tpm'; },
      ['name']],
    ['a node-red.version that stops before the latest release', (_dir, pkg) => {
      pkg['node-red'] = { ...pkg['node-red'], version: '>=3.0.0 <5.0.0' };
    }, ['node-red.version']],
    ['seven dependencies', (_dir, pkg) => {
      pkg['dependencies'] = Object.fromEntries(
        ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => [`dep-${name}`, '^1.0.0']));
    }, ['dependencies']],
    ['an example that leaves out a node', (dir) => {
      const file = join(dir, 'examples/weather-station.json');
      const nodes = JSON.parse(readFileSync(file, 'utf8')) as { type: string }[];
      writeFileSync(file, JSON.stringify(nodes.filter((n) => n.type !== 'azure-iot-hub-out')));
    }, ['azure-iot-hub-out in an example']],
    ['a registerType built at run time', (dir) => {
      const file = join(dir, 'dist/nodes/bme280-sensor.html');
      writeFileSync(file, readFileSync(file, 'utf8').replace(
        "RED.nodes.registerType('bme280-sensor', {",
        "var definition = {};\n  RED.nodes.registerType('bme280-sensor', definition, {"));
    }, ['inline registerType in dist/nodes/bme280-sensor.html']],
    ['a declared node file that the build did not make', (dir) => {
      rmSync(join(dir, 'dist/nodes/tpm-credentials.js'));
    }, ['file of tpm-credentials']],
  ];
  for (const [what, breakIt, expected] of cases) {
    test(`fails on ${what}`, () => {
      const outcome = scorecard(brokenCopy(breakIt));
      assert.deepEqual(failures(outcome), expected, outcome.lines.join('\n'));
      assert.equal(outcome.code, 1);
    });
  }
});
