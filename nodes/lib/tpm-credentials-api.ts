import type { DeviceIdentity, SasToken } from '../../src/identity';
import type { Node } from './red';

/** What other nodes get from a tpm-credentials config node. */
export interface TpmCredentialsNode extends Node {
  readonly slot: number;
  readonly tokenTtl: number;
  /** Host, device id, module and gateway, read from the TPM. */
  identity(): Promise<DeviceIdentity>;
  /** A fresh SAS token signed inside the TPM, valid for `tokenTtl` seconds. */
  sasToken(): Promise<SasToken>;
}
