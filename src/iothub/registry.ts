import { HubClient, type HubClientOptions } from './hub-client';

interface Entry {
  readonly client: HubClient;
  users: number;
}

const clients = new Map<string, Entry>();

export interface HubClientLease {
  readonly client: HubClient;
  release(): Promise<void>;
}

/**
 * One client per device identity and transport, shared by every node that sends as
 * that device; the last node to let go closes it (on redeploy, all of them do).
 */
export function leaseHubClient(key: string, options: () => HubClientOptions): HubClientLease {
  let entry = clients.get(key);
  if (!entry) {
    entry = { client: new HubClient(options()), users: 0 };
    clients.set(key, entry);
  }
  entry.users++;
  const held = entry;
  let released = false;
  return {
    client: held.client,
    release: async () => {
      if (released) return;
      released = true;
      held.users--;
      if (held.users > 0) return;
      if (clients.get(key) === held) clients.delete(key);
      await held.client.close();
    },
  };
}

/** Open clients in this process, for tests and diagnostics. */
export function openHubClients(): number {
  return clients.size;
}
