import { randomBytes } from 'node:crypto';

/** Who a token or a link speaks for: a device, or one module of a device. */
export interface Identity {
  readonly deviceId: string;
  readonly moduleId?: string;
}

export function identityKey(identity: Identity): string {
  return identity.moduleId === undefined
    ? identity.deviceId
    : `${identity.deviceId}/modules/${identity.moduleId}`;
}

/** The hub's identity registry: one symmetric key per device or module, nothing else. */
export class DeviceRegistry {
  private readonly keys = new Map<string, Buffer>();

  /** Registers (or replaces) an identity; with no key, a random 32-byte one. */
  add(identity: Identity, keyBase64?: string): string {
    const key = keyBase64 === undefined ? randomBytes(32) : decodeKey(keyBase64);
    this.keys.set(identityKey(identity), key);
    return key.toString('base64');
  }

  remove(identity: Identity): boolean {
    return this.keys.delete(identityKey(identity));
  }

  /** Swaps the key for one nobody knows, as regenerating both keys in the portal would. */
  revoke(identity: Identity): void {
    if (!this.keys.has(identityKey(identity))) {
      throw new Error(`no such identity: ${identityKey(identity)}`);
    }
    this.keys.set(identityKey(identity), randomBytes(32));
  }

  keyFor(identity: Identity): Buffer | undefined {
    return this.keys.get(identityKey(identity));
  }
}

function decodeKey(keyBase64: string): Buffer {
  const key = Buffer.from(keyBase64, 'base64');

  // Buffer.from skips characters that are not base64, so a typo would silently become
  // another key; re-encoding catches that.
  const canonical = key.toString('base64').replace(/=+$/, '');
  if (key.length === 0 || canonical !== keyBase64.replace(/=+$/, '')) {
    throw new Error('the device key must be non-empty base64');
  }
  return key;
}
