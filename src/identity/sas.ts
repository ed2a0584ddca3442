import { SharedAccessSignature } from 'azure-iot-common';
import { IdentityArgumentError } from './errors';
import type { DeviceIdentity } from './layout';

/** A SAS token and what it was made for. The token is a secret for its lifetime. */
export interface SasToken {
  readonly token: string;
  /** Seconds since the epoch. */
  readonly expiry: number;
  readonly identity: DeviceIdentity;
}

/** Signs with a key the caller cannot see, e.g. inside a TPM. */
export type Signer = (data: Buffer) => Promise<Buffer>;

/**
 * Builds the token exactly as the Azure SDK does for a device or module key: the SDK's
 * own builder, with the HMAC computed by `sign`. The resource is always the hub's host
 * name, also when messages go through a gateway.
 */
export function createSasToken(
  identity: DeviceIdentity, ttlSeconds: number, sign: Signer, nowMs = Date.now(),
): Promise<SasToken> {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1) {
    return Promise.reject(new IdentityArgumentError('token lifetime must be whole seconds, >= 1'));
  }
  const expiry = Math.floor(nowMs / 1000) + ttlSeconds;
  const credentials = {
    host: identity.hostName,
    deviceId: identity.deviceId,
    ...(identity.moduleId ? { moduleId: identity.moduleId } : {}),
  };
  return new Promise((resolve, reject) => {
    SharedAccessSignature.createWithSigningFunction(
      credentials, expiry,
      (data: Buffer, done: (err?: Error, signed?: Buffer) => void) => {
        sign(data).then((signed) => done(undefined, signed), (err: Error) => done(err));
      },
      (err?: Error, sas?: SharedAccessSignature) => {
        if (err || !sas) reject(err ?? new Error('no token was made'));
        else resolve({ token: sas.toString(), expiry, identity });
      },
    );
  });
}
