import { Tpm } from '../tpm2';
import { IdentityStore } from './store';

interface Shared {
  readonly store: IdentityStore;
  users: number;
}

// One connection per TPM in the process: swtpm serves one client at a time and a chip
// has few object slots, so every config node and admin request on a TPM shares it.
const shared = new Map<string, Shared>();

export interface StoreLease {
  readonly store: IdentityStore;
  /** Gives the lease back; the last one closes the connection. */
  release(): Promise<void>;
}

/** The identity store of the TPM named by `tcti`, shared with every other user of it. */
export function leaseStore(tcti: string): StoreLease {
  const key = Tpm.key(tcti);
  let entry = shared.get(key);
  if (!entry) {
    entry = { store: new IdentityStore(Tpm.open(tcti)), users: 0 };
    shared.set(key, entry);
  }
  entry.users++;
  const held = entry;
  let released = false;
  return {
    store: held.store,
    release: async () => {
      if (released) return;
      released = true;
      held.users--;
      if (held.users > 0) return;
      shared.delete(key);
      await held.store.tpm.close();
    },
  };
}

/** Runs `work` with a store leased for just that long. */
export async function withStore<T>(tcti: string, work: (store: IdentityStore) => Promise<T>): Promise<T> {
  const lease = leaseStore(tcti);
  try {
    return await work(lease.store);
  } finally {
    await lease.release();
  }
}

/** How many TPM connections are open; for tests and diagnostics. */
export function openConnections(): number {
  return shared.size;
}
