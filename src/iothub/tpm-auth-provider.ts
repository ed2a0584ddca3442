import { EventEmitter } from 'node:events';
import { AuthenticationType, type TransportConfig } from 'azure-iot-common';
import type { SasToken } from '../identity';

interface Token {
  readonly credentials: TransportConfig;
  /** Seconds since the epoch. */
  readonly expiry: number;
  readonly lifetime: number;
}

/** Where tokens come from: a tpm-credentials node, or anything that signs like one. */
export interface TokenSource {
  sasToken(): Promise<SasToken>;
}

export interface TpmAuthOptions {
  /** Renew this long before expiry; default a quarter of the lifetime, at most 15 min. */
  readonly renewalMarginSeconds?: number;
  /** How soon to try again when the TPM could not make a token. */
  readonly retryAfterFailureMs?: number;
}

/**
 * An authentication provider for azure-iot-device whose tokens are signed in the TPM.
 * The TPM is asked once per token lifetime, not per message. Before a token expires a
 * new one is announced with `newTokenAvailable`, on which a connected AMQP transport
 * sends it on the open connection: no reconnect.
 */
export class TpmAuthenticationProvider extends EventEmitter {
  readonly type = AuthenticationType.Token;
  /** Tokens made so far, i.e. TPM signing operations. */
  tokensMinted = 0;

  private current: Token | undefined;
  private minting: Promise<TransportConfig> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private marginOverride: number | undefined;
  private readonly retryMs: number;

  constructor(private readonly source: TokenSource, options: TpmAuthOptions = {}) {
    super();
    this.marginOverride = options.renewalMarginSeconds;
    this.retryMs = options.retryAfterFailureMs ?? 10_000;
  }

  getDeviceCredentials(): Promise<TransportConfig>;
  getDeviceCredentials(callback: (err?: Error, credentials?: TransportConfig) => void): void;
  getDeviceCredentials(
    callback?: (err?: Error, credentials?: TransportConfig) => void,
  ): Promise<TransportConfig> | void {
    const result = this.credentials();
    if (!callback) return result;
    result.then((credentials) => callback(undefined, credentials), (err: Error) => callback(err));
  }

  /** Makes a new token now and announces it, upon which the transport sends it. */
  async refresh(): Promise<TransportConfig> {
    const credentials = await this.mint();
    this.emit('newTokenAvailable', credentials);
    return credentials;
  }

  /**
   * Makes a new token now without announcing it, for a caller that hands it to
   * `client.updateSharedAccessSignature` itself to learn when the hub has taken it.
   */
  renew(): Promise<TransportConfig> {
    return this.mint();
  }

  /** The SDK's hook when a caller updates the token; ours is already current. */
  updateSharedAccessSignature(_token: string): void {
    // Every token passes through mint(), which has recorded it and its expiry.
  }

  /** The SDK's hook; the lifetime is the config node's, so only the margin is taken. */
  setTokenRenewalValues(_validSeconds: number, marginSeconds: number): void {
    this.marginOverride = marginSeconds;
  }

  /** Called by the AMQP transport on every disconnect; renewal resumes on reconnect. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async credentials(): Promise<TransportConfig> {
    const current = this.current;
    if (current && current.expiry - nowSeconds() > this.margin(current)) {
      if (!this.timer) this.schedule(current);
      return current.credentials;
    }
    return this.mint();
  }

  /** One token at a time, however many callers ask at once. */
  private mint(): Promise<TransportConfig> {
    this.minting ??= this.source.sasToken().then((sas) => {
      const { hostName, deviceId, moduleId, gatewayHostName } = sas.identity;
      const credentials: TransportConfig = {
        host: hostName,
        deviceId,
        ...(moduleId ? { moduleId } : {}),
        ...(gatewayHostName ? { gatewayHostName } : {}),
        sharedAccessSignature: sas.token,
      };
      this.tokensMinted++;
      this.current = { credentials, expiry: sas.expiry, lifetime: sas.expiry - nowSeconds() };
      this.schedule(this.current);
      return credentials;
    }).finally(() => {
      this.minting = undefined;
    });
    return this.minting;
  }

  private schedule(token: Token): void {
    clearTimeout(this.timer);
    const renewAt = (token.expiry - this.margin(token)) * 1000;
    this.timer = setTimeout(() => this.renewInBackground(), Math.max(0, renewAt - Date.now()));
    this.timer.unref();
  }

  private renewInBackground(): void {
    this.timer = undefined;
    this.refresh().catch((err: unknown) => {
      // The current token may still be good for a while: keep trying, tell the owner.
      this.emit('renewalFailed', err);
      this.timer = setTimeout(() => this.renewInBackground(), this.retryMs);
      this.timer.unref();
    });
  }

  private margin(token: Token): number {
    return this.marginOverride ?? Math.min(900, Math.ceil(token.lifetime / 4));
  }
}

function nowSeconds(): number {
  return Date.now() / 1000;
}
