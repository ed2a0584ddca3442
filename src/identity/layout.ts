import { NV_ATTR } from '../tpm2';
import { IdentityArgumentError } from './errors';

/**
 * Where a device identity lives in the TPM: the layout Windows IoT Core's device portal
 * ("Limpet") wrote, so that a TPM provisioned there keeps working here and back.
 */
export const SLOT_COUNT = 10;

/** The HMAC key, created inside the TPM from the device key. */
export function keyHandle(slot: number): number {
  return 0x81000100 + checkSlot(slot);
}

/** UTF-8 "<hostName>/<deviceId>[/<moduleId>]", sized to its content. */
export function identityIndex(slot: number): number {
  return 0x01400100 + checkSlot(slot);
}

/**
 * What Limpet has no place for (the gateway host), as "GatewayHostName=<host>". Kept in
 * an index of its own, right after Limpet's block, so that Limpet readers never see it.
 */
export function extrasIndex(slot: number): number {
  return 0x01400110 + checkSlot(slot);
}

/** Limpet's NV attributes: read and written with the index's empty auth, no lockout. */
export const IDENTITY_NV_ATTRIBUTES = NV_ATTR.AUTHWRITE | NV_ATTR.AUTHREAD | NV_ATTR.NO_DA;

export function checkSlot(slot: number): number {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) {
    throw new IdentityArgumentError(`slot must be a whole number from 0 to ${SLOT_COUNT - 1}`);
  }
  return slot;
}

/** What a slot says about the device, never the key. */
export interface DeviceIdentity {
  readonly hostName: string;
  readonly deviceId: string;
  readonly moduleId?: string;
  readonly gatewayHostName?: string;
}

export function encodeIdentity(identity: DeviceIdentity): Buffer {
  const parts = [identity.hostName, identity.deviceId];
  if (identity.moduleId) parts.push(identity.moduleId);
  return Buffer.from(parts.join('/'), 'utf8');
}

/** Parses the Limpet text; undefined when the bytes are not one. */
export function decodeIdentity(data: Buffer): DeviceIdentity | undefined {
  const parts = data.toString('utf8').replace(/\0+$/, '').split('/');
  const [hostName, deviceId, moduleId] = parts;
  if (parts.length > 3 || !hostName || !deviceId) return undefined;
  return moduleId ? { hostName, deviceId, moduleId } : { hostName, deviceId };
}

export function encodeExtras(identity: DeviceIdentity): Buffer | undefined {
  if (!identity.gatewayHostName) return undefined;
  return Buffer.from(`GatewayHostName=${identity.gatewayHostName}`, 'utf8');
}

export function decodeExtras(data: Buffer): Pick<DeviceIdentity, 'gatewayHostName'> {
  const extras: { gatewayHostName?: string } = {};
  for (const line of data.toString('utf8').split(/[;\n]/)) {
    const eq = line.indexOf('=');
    if (eq > 0 && line.slice(0, eq) === 'GatewayHostName') {
      extras.gatewayHostName = line.slice(eq + 1);
    }
  }
  return extras;
}
