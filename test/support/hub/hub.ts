import type { Socket } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import {
  create_container, type AmqpError, type Connection, type Delivery, type EventContext,
  type Message, type Receiver, type ReceiverOptions, type Sender, type ServerConnectionOptions,
} from 'rhea';
import type WebSocket from 'ws';
import { parseLinkAddress } from './addresses';
import {
  bodyBytes, idToString, optionalString, propertyMap, terminusAddress,
} from './amqp-values';
import { answerCbsRequest } from './cbs';
import { makeCertificates, type HubCertificates } from './certs';
import { ConnectionState } from './connection-state';
import {
  NOT_FOUND, THROTTLED, TOO_LARGE, UNAUTHORIZED, MAX_MESSAGE_BYTES,
  type HubOptions, type LocalHub,
} from './api';
import type {
  ConnectionTransport, PutTokenEvent, ReceivedMessage, RejectedMessage,
} from './records';
import { MessageWaiters } from './waiters';
import { DeviceRegistry, identityKey, type Identity } from './registry';
import { listenWebSocket, type WebSocketListener } from './websocket';
import { LocalHubAgent } from './ws-agent';

// Generous, so that many messages can be in flight on one link without waiting for credit.
const CREDIT_WINDOW = 1000;

const RECEIVER_OPTIONS: ReceiverOptions = { autoaccept: false, credit_window: CREDIT_WINDOW };

// Without transport 'tls', which the TLS listener's connections carry: that is how the hub
// tells the two kinds apart.
const WEBSOCKET_CONNECTION_OPTIONS: ServerConnectionOptions = {
  receiver_options: RECEIVER_OPTIONS,
};

/**
 * websocket_accept as rhea 3 implements it (lib/container.js, lib/ws.js): it wraps anything
 * with send, close and on* handlers, a ws WebSocket included, and hands the options to the
 * new connection. Its typings ask for a net.Socket and TLS options instead.
 */
interface WebSocketAccepting {
  websocket_accept(socket: WebSocket, options: ServerConnectionOptions): void;
}

export async function startHub(options: HubOptions = {}): Promise<LocalHub> {
  const certs = await makeCertificates();
  const hub = new Hub(certs, options.log ?? (() => undefined), options.onMessage);
  try {
    await hub.listen(options.port ?? 0, options.wsPort ?? 0);
    return hub;
  } catch (err) {
    // Also closes whichever listener did start, and removes the certificates.
    await hub.stop();
    throw err;
  }
}

class Hub implements LocalHub {
  readonly messages: ReceivedMessage[] = [];
  readonly putTokens: PutTokenEvent[] = [];
  readonly rejections: RejectedMessage[] = [];
  readonly refusedLinks: RejectedMessage[] = [];
  refusedConnections = 0;
  port = 0;
  readonly webSocketAgent = new LocalHubAgent(() => this.wsPort);

  private readonly registry = new DeviceRegistry();
  private readonly states = new WeakMap<Connection, ConnectionState>();
  private readonly live = new Set<ConnectionState>();
  private readonly linkIdentities = new WeakMap<Receiver, Identity>();
  private readonly sockets = new Set<Socket>();
  private readonly waiters = new MessageWaiters();
  private readonly pendingRejections: AmqpError[] = [];
  private readonly container = create_container({ id: 'local-iot-hub' });
  private server: TlsServer | undefined;
  private wsListener: WebSocketListener | undefined;
  private nextConnectionId = 1;
  private refusing = false;
  private throttled = false;

  constructor(
    private readonly certs: HubCertificates,
    private readonly log: (line: string) => void,
    private readonly onMessage?: (message: ReceivedMessage) => void,
  ) {
    this.container.on('connection_open', (context: EventContext) => this.opened(context));
    this.container.on('disconnected', (context: EventContext) => this.closed(context));
    this.container.on('receiver_open', (context: EventContext) => this.clientSender(context));
    this.container.on('sender_open', (context: EventContext) => this.clientReceiver(context));
    this.container.on('message', (context: EventContext) => this.received(context));

    // rhea reports a peer's error detach or close to the container and otherwise prints a
    // warning; a hub in a test sees plenty of those on purpose.
    for (const event of ['error', 'connection_error', 'session_error', 'sender_error',
      'receiver_error']) {
      this.container.on(event, () => undefined);
    }
  }

  get host(): string {
    return `localhost:${this.port}`;
  }

  get caPem(): string {
    return this.certs.caPem;
  }

  get caPath(): string {
    return this.certs.caPath;
  }

  get wsPort(): number {
    return this.wsListener?.port ?? 0;
  }

  get connectionCount(): number {
    return this.nextConnectionId - 1;
  }

  get openConnections(): number {
    return this.live.size;
  }

  async listen(port: number, wsPort: number): Promise<void> {
    // No SASL settings: rhea's server then takes either a SASL header or, as the Azure SDK
    // sends, the AMQP header straight after TLS.
    const server = this.container.listen({
      transport: 'tls', host: '127.0.0.1', port,
      key: this.certs.keyPem, cert: this.certs.certPem,
      receiver_options: RECEIVER_OPTIONS,
    });
    this.server = server;

    // 'connection' is the raw TCP socket, before the TLS handshake that rhea waits for;
    // a refused connection is closed right after the handshake, ahead of rhea's listener.
    server.on('connection', (socket: Socket) => this.accepted(socket));
    server.prependListener('secureConnection', (socket: TLSSocket) => this.secured(socket));
    server.on('tlsClientError', () => undefined);

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.once('listening', () => {
        server.off('error', reject);
        const address = server.address();
        this.port = typeof address === 'object' && address ? address.port : port;
        resolve();
      });
    });

    this.wsListener = await listenWebSocket({
      port: wsPort, keyPem: this.certs.keyPem, certPem: this.certs.certPem,
      onSocket: (socket) => this.accepted(socket),
      onSecure: (socket) => this.secured(socket),
      onWebSocket: (socket) => this.upgraded(socket),
    });
    this.log(`hub listening on ${this.host}, AMQP over WebSockets on localhost:${this.wsPort}`);
  }

  addDevice(deviceId: string, keyBase64?: string, moduleId?: string): string {
    return this.registry.add(identity(deviceId, moduleId), keyBase64);
  }

  removeDevice(deviceId: string, moduleId?: string): void {
    const who = identity(deviceId, moduleId);
    this.registry.remove(who);
    for (const state of this.live) state.forget(who);
  }

  revokeDevice(deviceId: string, moduleId?: string): void {
    const who = identity(deviceId, moduleId);
    this.registry.revoke(who);
    for (const state of this.live) state.forget(who);
    this.log(`revoked the key of ${identityKey(who)}`);
  }

  connectionString(deviceId: string, moduleId?: string): string {
    const key = this.registry.keyFor(identity(deviceId, moduleId));
    if (!key) throw new Error(`no such identity: ${identityKey(identity(deviceId, moduleId))}`);

    const module = moduleId === undefined ? '' : `;ModuleId=${moduleId}`;
    return `HostName=${this.host};DeviceId=${deviceId}${module}` +
      `;SharedAccessKey=${key.toString('base64')}`;
  }

  wsConnectionString(deviceId: string, moduleId?: string): string {
    return this.connectionString(deviceId, moduleId)
      .replace(`HostName=${this.host};`, 'HostName=localhost;');
  }

  waitForMessages(count: number, timeoutMs = 5000): Promise<ReceivedMessage[]> {
    return this.waiters.wait(this.messages, count, timeoutMs);
  }

  refuseConnections(refuse = true): void {
    this.refusing = refuse;
    this.log(refuse ? 'refusing new connections' : 'accepting connections');
  }

  dropConnections(): number {
    const count = this.sockets.size;
    for (const socket of this.sockets) socket.destroy();
    this.log(`dropped ${count} connection(s)`);
    return count;
  }

  throttle(on = true): void {
    this.throttled = on;
    this.log(on ? 'throttling telemetry' : 'no longer throttling');
  }

  rejectNext(count: number, condition = 'amqp:internal-error', description?: string): void {
    for (let i = 0; i < count; i++) {
      this.pendingRejections.push({ condition, description: description ?? condition });
    }
  }

  expireTokensNow(): void {
    for (const state of this.live) state.expireAll();
    this.log('every token so far counts as expired');
  }

  async stop(): Promise<void> {
    this.waiters.cancel(new Error('the hub stopped'));

    for (const socket of this.sockets) socket.destroy();
    this.webSocketAgent.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    const wsListener = this.wsListener;
    this.wsListener = undefined;
    await wsListener?.close();
    await this.certs.remove();
  }

  private accepted(socket: Socket): void {
    // Without this, Nagle's algorithm and the peer's delayed ACK hold each small AMQP
    // frame back ~40 ms, and a first send takes four times as long as it should.
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  // Closing after the handshake rather than before it: the client then reports one clean
  // disconnect, where a reset mid-handshake also makes rhea print a warning in the client.
  private secured(socket: TLSSocket): void {
    if (!this.refusing) return;
    this.refusedConnections++;
    socket.destroy();
  }

  private upgraded(socket: WebSocket): void {
    const container = this.container as unknown as WebSocketAccepting;
    container.websocket_accept(socket, WEBSOCKET_CONNECTION_OPTIONS);
  }

  private stateOf(connection: Connection): ConnectionState {
    let state = this.states.get(connection);
    if (!state) {
      const transport: ConnectionTransport =
        connection.options.transport === 'tls' ? 'amqp' : 'amqp-ws';
      state = new ConnectionState(this.nextConnectionId++, transport);
      this.states.set(connection, state);
      this.live.add(state);
    }
    return state;
  }

  private opened(context: EventContext): void {
    const state = this.stateOf(context.connection);
    this.log(`connection ${state.id} opened (${state.transport})`);
  }

  private closed(context: EventContext): void {
    const state = this.states.get(context.connection);
    if (state && this.live.delete(state)) this.log(`connection ${state.id} closed`);
  }

  /** A client's sending link: `$cbs` requests or telemetry. */
  private clientSender(context: EventContext): void {
    const receiver = context.receiver;
    if (!receiver) return;
    const address = terminusAddress(receiver.target) ?? '';
    const parsed = parseLinkAddress(address);

    if (parsed?.kind === 'cbs') {
      receiver.set_target({ address: '$cbs' });
      return;
    }
    if (parsed?.kind !== 'telemetry') {
      this.refuseLink(context, receiver, address, NOT_FOUND, 'no such address');
      return;
    }

    const verdict = this.stateOf(context.connection).check(parsed.identity, unixNow());
    if (verdict !== 'ok') {
      this.refuseLink(context, receiver, address, UNAUTHORIZED, verdict);
      return;
    }
    receiver.set_target({ address });
    this.linkIdentities.set(receiver, parsed.identity);
  }

  /** A client's receiving link: `$cbs` replies, or cloud-to-device messages. */
  private clientReceiver(context: EventContext): void {
    const sender = context.sender;
    if (!sender) return;
    const address = terminusAddress(sender.source) ?? '';
    const parsed = parseLinkAddress(address);
    const state = this.stateOf(context.connection);

    if (parsed?.kind === 'cbs') {
      sender.set_source({ address: '$cbs' });
      state.cbsReplies = sender;
      return;
    }
    if (parsed === undefined) {
      this.refuseLink(context, sender, address, NOT_FOUND, 'no such address');
      return;
    }

    // The hub never sends cloud-to-device messages, but a client that asks may listen.
    const verdict = state.check(parsed.identity, unixNow());
    if (verdict !== 'ok') {
      this.refuseLink(context, sender, address, UNAUTHORIZED, verdict);
      return;
    }
    sender.set_source({ address });
  }

  /**
   * Refuses a link the AMQP way: the attach rhea already queued goes out without a
   * terminus, followed at once by a detach that carries the error.
   */
  private refuseLink(context: EventContext, link: Sender | Receiver, address: string,
    condition: string, description: string): void {
    link.close({ condition, description });

    const id = this.stateOf(context.connection).id;
    this.refusedLinks.push({ connectionId: id, address, condition, at: new Date() });
    this.log(`connection ${id}: link to ${address || '(no address)'} refused: ${condition}`);
  }

  private received(context: EventContext): void {
    const { receiver, delivery, message } = context;
    if (!receiver || !delivery || !message) return;

    const state = this.stateOf(context.connection);
    if (terminusAddress(receiver.target) === '$cbs') {
      this.putToken(state, message, delivery);
    } else {
      this.telemetry(state, receiver, message, delivery);
    }
  }

  private putToken(state: ConnectionState, request: Message, delivery: Delivery): void {
    const outcome = answerCbsRequest(request, {
      hosts: ['localhost', this.host],
      keyFor: (who) => this.registry.keyFor(who),
      now: unixNow(),
    });
    delivery.accept();

    const { check } = outcome;
    if (check.ok) state.authorize(check.identity, check.expiresAt);
    this.putTokens.push({
      connectionId: state.id,
      transport: state.transport,
      audience: outcome.audience,
      deviceId: check.identity?.deviceId,
      moduleId: check.identity?.moduleId,
      expiresAt: check.expiresAt === undefined ? undefined : new Date(check.expiresAt * 1000),
      accepted: check.ok,
      reason: check.ok ? undefined : check.reason,
      at: new Date(),
    });

    const who = check.identity ? identityKey(check.identity) : 'unknown identity';
    this.log(check.ok
      ? `connection ${state.id}: token for ${who} accepted`
      : `connection ${state.id}: token for ${who} refused: ${check.reason}`);

    if (state.cbsReplies) state.cbsReplies.send(outcome.reply);
  }

  private telemetry(state: ConnectionState, receiver: Receiver, message: Message,
    delivery: Delivery): void {
    const who = this.linkIdentities.get(receiver);
    const address = terminusAddress(receiver.target) ?? '';
    const refuse = (condition: string, description: string): void => {
      delivery.reject({ condition, description });
      this.rejections.push({ connectionId: state.id, address, condition, at: new Date() });
      this.log(`connection ${state.id}: message to ${address} rejected: ${condition}`);
    };

    const verdict = who ? state.check(who, unixNow()) : 'no token';
    if (!who || verdict !== 'ok') return refuse(UNAUTHORIZED, verdict);

    const forced = this.pendingRejections.shift();
    if (forced) return refuse(String(forced.condition), forced.description ?? '');
    if (this.throttled) return refuse(THROTTLED, 'the device container is throttled');

    const body = bodyBytes(message.body);
    if (body.length > MAX_MESSAGE_BYTES) return refuse(TOO_LARGE, 'message over 256 KB');

    delivery.accept();
    this.record({
      deviceId: who.deviceId,
      moduleId: who.moduleId,
      body,
      messageId: idToString(message.message_id),
      correlationId: idToString(message.correlation_id),
      contentType: optionalString(message.content_type),
      contentEncoding: optionalString(message.content_encoding),
      properties: propertyMap(message.application_properties),
      receivedAt: new Date(),
      connectionId: state.id,
      transport: state.transport,
    });
  }

  private record(received: ReceivedMessage): void {
    // No log line per message: at thousands a second it would drown the state changes.
    this.messages.push(received);
    this.onMessage?.(received);
    this.waiters.update(this.messages);
  }
}

function identity(deviceId: string, moduleId?: string): Identity {
  return moduleId === undefined ? { deviceId } : { deviceId, moduleId };
}

// The hub keeps time by the monotonic clock, not Date.now(), so that a test can set the
// device's clock wrong (as on a Raspberry Pi before NTP) without moving the hub's.
function unixNow(): number {
  return Math.floor((performance.timeOrigin + performance.now()) / 1000);
}
