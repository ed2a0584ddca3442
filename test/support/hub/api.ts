import type { Agent } from 'node:https';
import type { PutTokenEvent, ReceivedMessage, RejectedMessage } from './records';

export const UNAUTHORIZED = 'amqp:unauthorized-access';
export const THROTTLED = 'com.microsoft:device-container-throttled';
export const NOT_FOUND = 'amqp:not-found';
export const TOO_LARGE = 'amqp:link:message-size-exceeded';

/** IoT Hub refuses device-to-cloud messages over 256 KB. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

export interface HubOptions {
  /** Port on 127.0.0.1; absent or 0 lets the kernel pick a free one (no race). */
  readonly port?: number;
  /**
   * Port on 127.0.0.1 for AMQP over WebSockets; absent or 0 lets the kernel pick. Only 443
   * lets AmqpWs reach it without `webSocketAgent` (it always dials port 443).
   */
  readonly wsPort?: number;
  /** Receives one line per state change. Never given a key or a token. */
  readonly log?: (line: string) => void;
  /** Called for every accepted telemetry message, after it is recorded. */
  readonly onMessage?: (message: ReceivedMessage) => void;
}

/**
 * A local stand-in for Azure IoT Hub's AMQP endpoint, for tests and the demo.
 *
 * The switches and what the Node SDK (azure-iot-device-amqp) makes of them:
 * - refuseConnections: each new socket is destroyed as soon as TLS is up, before any AMQP;
 *   `open()` fails with NotConnectedError at once (the default retry policy retries it
 *   for up to 240 s).
 * - dropConnections: open sockets are destroyed; the client emits 'disconnect' at once
 *   and its next operation opens a new connection (a new put-token, a new connection id).
 * - throttle / rejectNext: the message is rejected; `sendEvent` fails with the mapped
 *   error (ThrottlingError for the throttle condition) and the connection stays up.
 * - expireTokensNow and revokeDevice: later messages are rejected with
 *   amqp:unauthorized-access (UnauthorizedError) until a valid put-token on the same
 *   connection; revokeDevice also makes every later put-token fail with 401.
 * None of them sends an AMQP close frame: the SDK would wait 45 s for its own close to
 * finish before reporting anything.
 *
 * The same device registry, CBS checks, records and switches serve AMQP over WebSockets
 * (a second listener, `wsPort`); there refuseConnections closes the socket after TLS,
 * before the HTTP upgrade, and the SDK reports the same errors as over TLS.
 */
export interface LocalHub {
  /** `localhost:PORT`: what goes into HostName= of a connection string. */
  readonly host: string;
  readonly port: number;
  readonly caPem: string;
  readonly caPath: string;
  /** The HTTPS port that upgrades `/$iothub/websocket` to AMQP (subprotocol AMQPWSB10). */
  readonly wsPort: number;
  /**
   * Takes AmqpWs's `wss://localhost:443/...` to `wsPort`: pass it as
   * `client.setOptions({ ca, amqp: { webSocketAgent } })` with `wsConnectionString`.
   */
  readonly webSocketAgent: Agent;
  /** Accepted telemetry, oldest first. */
  readonly messages: readonly ReceivedMessage[];
  /** Every put-token request, oldest first. */
  readonly putTokens: readonly PutTokenEvent[];
  /** Telemetry the hub refused, oldest first. */
  readonly rejections: readonly RejectedMessage[];
  /** Links the hub refused to attach (unknown address, no valid token), oldest first. */
  readonly refusedLinks: readonly RejectedMessage[];
  /** AMQP connections opened since start. */
  readonly connectionCount: number;
  readonly openConnections: number;
  /** Connections closed by refuseConnections. */
  readonly refusedConnections: number;

  /** Registers a device (or one of its modules); returns the key, random if none given. */
  addDevice(deviceId: string, keyBase64?: string, moduleId?: string): string;
  removeDevice(deviceId: string, moduleId?: string): void;
  /** Replaces the key with an unknown one and drops the identity's current authorizations. */
  revokeDevice(deviceId: string, moduleId?: string): void;
  /** `HostName=localhost:PORT;DeviceId=...[;ModuleId=...];SharedAccessKey=...` */
  connectionString(deviceId: string, moduleId?: string): string;
  /**
   * `HostName=localhost;...` for AmqpWs, which appends `:443` to the host itself (a port
   * in HostName makes an invalid URL); with `webSocketAgent` it reaches `wsPort`.
   */
  wsConnectionString(deviceId: string, moduleId?: string): string;
  /** Resolves with the first `count` messages once that many have arrived. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;

  refuseConnections(refuse?: boolean): void;
  /** Destroys every open socket; returns how many. */
  dropConnections(): number;
  throttle(on?: boolean): void;
  /** Rejects the next `count` telemetry messages with `condition`. */
  rejectNext(count: number, condition?: string, description?: string): void;
  /** Treats every token put so far as expired. */
  expireTokensNow(): void;
  stop(): Promise<void>;
}
