// Waiting for the sensor. Node's timers are millisecond-grained and fire late, while
// the datasheet's limits are fractional (9.3 ms at x1), so the last millisecond is
// spent yielding to the event loop until the clock passes the deadline.

import { performance } from 'node:perf_hooks';

export const now = (): number => performance.now();

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Resolves once performance.now() has reached `deadline`, and not much later. */
export async function waitUntil(deadline: number): Promise<void> {
  const coarse = Math.floor(deadline - now() - 1);
  if (coarse >= 1) await sleep(coarse);
  while (now() < deadline) await turn();
}
