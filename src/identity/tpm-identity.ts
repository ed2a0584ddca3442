import type { DeviceIdentity } from './layout';
import type { SasToken } from './sas';
import { leaseStore, type StoreLease } from './shared-tpm';
import { checkSlot } from './layout';

export interface TpmIdentityOptions {
  /** TCTI string; empty for $TPM2TOOLS_TCTI or /dev/tpmrm0. */
  readonly tpm: string;
  readonly slot: number;
  /** Lifetime of each SAS token, in seconds. */
  readonly tokenTtl: number;
}

/**
 * One device identity in one TPM slot, as the rest of the package sees it: the identity
 * and fresh tokens, both read from the TPM when asked. A bad TCTI or slot does not
 * throw here; it rejects every request, so the owner can report it where it wants.
 */
export class TpmIdentity {
  private readonly lease: StoreLease | undefined;
  private readonly setupError: Error | undefined;

  constructor(readonly options: TpmIdentityOptions) {
    try {
      checkSlot(options.slot);
      this.lease = leaseStore(options.tpm);
    } catch (err) {
      this.setupError = err as Error;
    }
  }

  identity(): Promise<DeviceIdentity> {
    return this.withStore((store) => store.read(this.options.slot));
  }

  sasToken(): Promise<SasToken> {
    return this.withStore((store) => store.sasToken(this.options.slot, this.options.tokenTtl));
  }

  /** Signs with the slot's key inside the TPM. */
  sign(data: Buffer): Promise<Buffer> {
    return this.withStore((store) => store.sign(this.options.slot, data));
  }

  async close(): Promise<void> {
    await this.lease?.release();
  }

  private withStore<T>(work: (store: StoreLease['store']) => Promise<T>): Promise<T> {
    if (this.setupError) return Promise.reject(this.setupError);
    if (!this.lease) return Promise.reject(new Error('TPM identity not set up'));
    return work(this.lease.store);
  }
}
