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
//
// AMQP over WebSockets (the SDK's AmqpWs) reaches the same hub, registry and switches
// through a second listener: HTTPS on 127.0.0.1:wsPort with the same certificate, upgrading
// `/$iothub/websocket` (subprotocol AMQPWSB10) and handing the socket to rhea. AmqpWs
// always dials `wss://<HostName>:443/...`, so HostName cannot carry the port; the SDK's
// webSocketAgent option (meant for proxies) takes the connection to wsPort instead:
//
//   const client = Client.fromConnectionString(hub.wsConnectionString('sensor-1'), AmqpWs);
//   await client.setOptions({ ca: hub.caPem, amqp: { webSocketAgent: hub.webSocketAgent } });
//
// Code that cannot pass an agent (HubClient) reaches it with `startHub({ wsPort: 443 })`
// (needs the privilege to bind 443), or in a test process with
// `const restore = routeLocalhost443(hub.wsPort)`, which sends TLS connections for
// localhost:443 to that port (ws dials with tls.connect itself, ignoring https.globalAgent).
// Each record says which transport carried it (`transport: 'amqp' | 'amqp-ws'`).
export { startHub } from './hub';
export { MAX_MESSAGE_BYTES, NOT_FOUND, THROTTLED, TOO_LARGE, UNAUTHORIZED } from './api';
export type { HubOptions, LocalHub } from './api';
export type {
  ConnectionTransport, PutTokenEvent, ReceivedMessage, RejectedMessage,
} from './records';
export type { PropertyValue } from './amqp-values';
export { AMQP_WS_PROTOCOL, WEBSOCKET_PATH } from './websocket';
export { routeLocalhost443 } from './port-443';
