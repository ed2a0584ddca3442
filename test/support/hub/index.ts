// The local IoT Hub for tests and the demo: a TLS listener on 127.0.0.1 speaking AMQP 1.0
// through rhea, checking put-tokens for real and recording telemetry.
//
//   const hub = await startHub();
//   hub.addDevice('sensor-1', keyBase64);
//   const client = Client.fromConnectionString(hub.connectionString('sensor-1'), Amqp);
//   await client.setOptions({ ca: hub.caPem });   // await it: it applies asynchronously
//   client.setRetryPolicy(new NoRetry());         // failure tests: no 240 s of retries
//   ...
//   await hub.stop();
export { startHub } from './hub';
export { MAX_MESSAGE_BYTES, NOT_FOUND, THROTTLED, TOO_LARGE, UNAUTHORIZED } from './api';
export type { HubOptions, LocalHub } from './api';
export type { PutTokenEvent, ReceivedMessage, RejectedMessage } from './records';
export type { PropertyValue } from './amqp-values';
