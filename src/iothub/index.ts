export { Backoff } from './backoff';
export { tokenPrintingDebug } from './debug-output';
export {
  ClosedError, ConfigurationError, CredentialsRefusedError, PayloadError, QueueFullError,
  classify, shortReason,
} from './errors';
export {
  HubClient, type HubClientOptions, type HubState, type HubStatus, type HubTransport,
} from './hub-client';
export {
  JournalBusyError, MessageJournal, type JournalEntry, type OpenedJournal,
} from './journal';
export { MAX_MESSAGE_BYTES, buildMessage, type OutgoingMessage } from './message';
export { leaseHubClient, openHubClients, type HubClientLease } from './registry';
export { TpmAuthenticationProvider, type TokenSource } from './tpm-auth-provider';
