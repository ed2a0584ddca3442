export { DeviceConnectionString, parseConnectionString } from './connection-string';
export {
  ConnectionStringError, ForeignObjectError, IdentityArgumentError, NotProvisionedError,
} from './errors';
export {
  SLOT_COUNT, checkSlot, extrasIndex, identityIndex, keyHandle, type DeviceIdentity,
} from './layout';
export { createSasToken, type SasToken, type Signer } from './sas';
export type { SlotState } from './slot-contents';
export { IdentityStore, type ProvisionOptions } from './store';
export { leaseStore, openConnections, withStore, type StoreLease } from './shared-tpm';
export { TpmIdentity, type TpmIdentityOptions } from './tpm-identity';
