import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Messages waiting in the journal files under `dir` whose names contain `part`, counted
 * from the lines as the next start would read them: adds less dones.
 */
export function waitingInJournals(dir: string, part = ''): number {
  if (!existsSync(dir)) return 0;
  let waiting = 0;
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.jsonl') || !name.includes(part)) continue;
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (line.startsWith('{"add"')) waiting++;
      else if (line.startsWith('{"done"')) waiting--;
    }
  }
  return waiting;
}
