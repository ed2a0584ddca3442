export { startHub, MAX_MESSAGE_BYTES, NOT_FOUND, THROTTLED, TOO_LARGE, UNAUTHORIZED } from './hub';
export type { HubOptions, LocalHub } from './hub';
export type { PutTokenEvent, ReceivedMessage, RejectedMessage } from './records';
export type { PropertyValue } from './amqp-values';
