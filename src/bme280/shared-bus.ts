// One handle per bus for the whole process, shared by every sensor on it. Whole
// readings are queued so that two sensors on one bus never interleave their
// transfers, and the handle closes when the last sensor lets go (on redeploy).

import { LeaseRegistry } from '../util/lease-registry';
import type { I2cBus } from './bus';

export type BusOpener = () => Promise<I2cBus>;

class SharedBus {
  private bus: Promise<I2cBus> | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  constructor(private readonly open: BusOpener) {}

  /** Runs `work` once every earlier job on this bus has finished. */
  run<T>(work: (bus: I2cBus) => Promise<T>): Promise<T> {
    const job = this.tail.then(async () => work(await this.handle()));
    this.tail = job.catch(() => undefined);
    return job;
  }

  private handle(): Promise<I2cBus> {
    if (this.bus === null) {
      const opening = this.open();
      // A failed open is retried by the next job rather than remembered.
      opening.catch(() => { if (this.bus === opening) this.bus = null; });
      this.bus = opening;
    }
    return this.bus;
  }

  /** Waits for queued jobs, then closes the handle if one was opened. */
  async close(): Promise<void> {
    await this.tail;
    const bus = this.bus;
    this.bus = null;
    if (bus === null) return;
    const handle = await bus.catch(() => null);
    await handle?.close();
  }
}

export interface BusLease {
  run<T>(work: (bus: I2cBus) => Promise<T>): Promise<T>;
  /** Idempotent; the last lease to be released closes the bus. */
  release(): Promise<void>;
}

const buses = new LeaseRegistry<SharedBus>((bus) => bus.close());

/** Leases the bus known as `key`, opening it with `open` when nobody holds it yet. */
export function leaseBus(key: string, open: BusOpener): BusLease {
  const lease = buses.lease(key, () => new SharedBus(open));
  let released = false;

  return {
    run: (work) => {
      if (released) return Promise.reject(new Error(`bus ${key} lease already released`));
      return lease.value.run(work);
    },
    release: async () => {
      released = true;
      await lease.release();
    },
  };
}

/** Keys of the buses someone holds, so tests can tell that a redeploy let go. */
export function leasedBusKeys(): string[] {
  return buses.keys();
}
