import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tokenPrintingDebug } from '../../src/iothub';

const ALL = ['rhea:message', 'rhea:raw', 'rhea:frames'];

const cases: [string, string | undefined, string[]][] = [
  ['unset', undefined, []],
  ['empty', '', []],
  ['everything', '*', ALL],
  ['every rhea namespace', 'rhea*', ALL],
  ['rhea with a colon', 'rhea:*', ALL],
  ['one namespace', 'rhea:message', ['rhea:message']],
  ['among others, comma-separated', 'azure*,rhea:raw', ['rhea:raw']],
  ['among others, space-separated', 'express:* rhea:frames', ['rhea:frames']],
  ['only the SDK', 'azure*', []],
  ['rhea events only', 'rhea:events', []],
  ['everything but rhea', '*,-rhea*', []],
  ['a skip before the inclusion', '-rhea:raw,rhea*', ['rhea:message', 'rhea:frames']],
  ['a dot is a dot', 'rhea.message', []],
];
for (const [what, debug, printing] of cases) {
  test(`DEBUG ${what}: ${printing.length === 0 ? 'prints no token' : printing.join(', ')}`,
    () => {
      assert.deepEqual(tokenPrintingDebug(debug), printing);
    });
}
