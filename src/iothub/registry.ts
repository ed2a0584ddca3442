import { LeaseRegistry } from '../util/lease-registry';
import { HubClient, type HubClientOptions } from './hub-client';

const clients = new LeaseRegistry<HubClient>((client) => client.close());

export interface HubClientLease {
  readonly client: HubClient;
  release(): Promise<void>;
}

/**
 * One client per device identity and transport, shared by every node that sends as
 * that device; the last node to let go closes it (on redeploy, all of them do).
 */
export function leaseHubClient(key: string, options: () => HubClientOptions): HubClientLease {
  const lease = clients.lease(key, () => new HubClient(options()));
  return { client: lease.value, release: lease.release };
}

/** Open clients in this process, for tests and diagnostics. */
export function openHubClients(): number {
  return clients.keys().length;
}
