// Polling for a condition that an event does not announce (a status change, a count on
// the local hub). The limit only bounds a broken test; it measures nothing.
import { setTimeout as wait } from 'node:timers/promises';

export { wait };

/** Resolves once `check()` is true, polling every `stepMs`; rejects after `limitMs`. */
export async function until(check: () => boolean, what: string, limitMs = 10_000,
  stepMs = 20): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await wait(stepMs);
  }
}
