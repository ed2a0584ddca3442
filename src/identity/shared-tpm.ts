import { Tpm } from '../tpm2';
import { LeaseRegistry } from '../util/lease-registry';
import { IdentityStore } from './store';

// One connection per TPM in the process: swtpm serves one client at a time and a chip
// has few object slots, so every config node and admin request on a TPM shares it.
const stores = new LeaseRegistry<IdentityStore>((store) => store.tpm.close());

export interface StoreLease {
  readonly store: IdentityStore;
  /** Gives the lease back; the last one closes the connection. */
  release(): Promise<void>;
}

/** The identity store of the TPM named by `tcti`, shared with every other user of it. */
export function leaseStore(tcti: string): StoreLease {
  const lease = stores.lease(Tpm.key(tcti), () => new IdentityStore(Tpm.open(tcti)));
  return { store: lease.value, release: lease.release };
}

/** Runs `work` with a store leased for just that long. */
export async function withStore<T>(
  tcti: string, work: (store: IdentityStore) => Promise<T>,
): Promise<T> {
  const lease = leaseStore(tcti);
  try {
    return await work(lease.store);
  } finally {
    await lease.release();
  }
}

/** How many TPM connections are open; for tests and diagnostics. */
export function openConnections(): number {
  return stores.keys().length;
}
