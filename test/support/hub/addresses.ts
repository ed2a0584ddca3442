import type { Identity } from './registry';

/** What a link address means to the hub. */
export type LinkAddress =
  | { readonly kind: 'cbs' }
  | { readonly kind: 'telemetry'; readonly identity: Identity }
  | { readonly kind: 'cloud-to-device'; readonly identity: Identity };

const DEVICE_PATH = /^\/devices\/([^/]+)(?:\/modules\/([^/]+))?\/messages\/(events|devicebound)$/;

export function parseLinkAddress(address: string): LinkAddress | undefined {
  if (address === '$cbs') return { kind: 'cbs' };

  const match = DEVICE_PATH.exec(address);
  if (!match) return undefined;

  const [, deviceId, moduleId, direction] = match;
  if (deviceId === undefined) return undefined;
  const identity = moduleId === undefined ? { deviceId } : { deviceId, moduleId };

  // The SDK names a module's cloud-to-device link `.../messages/events` too; only the
  // direction of the link tells the two apart, and the caller knows it.
  return direction === 'events'
    ? { kind: 'telemetry', identity }
    : { kind: 'cloud-to-device', identity };
}
