import type { IncomingMessage } from 'node:http';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import WebSocket from 'ws';

/** Where azure-iot-device-amqp's AmqpWs opens its WebSocket. */
export const WEBSOCKET_PATH = '/$iothub/websocket';

/** The subprotocol AmqpWs asks for: AMQP 1.0 frames carried in binary WebSocket messages. */
export const AMQP_WS_PROTOCOL = 'AMQPWSB10';

export interface WebSocketListenerOptions {
  readonly port: number;
  readonly keyPem: string;
  readonly certPem: string;
  /** Every raw TCP socket, before TLS: what dropConnections destroys. */
  readonly onSocket: (socket: Socket) => void;
  /** After the TLS handshake and before any HTTP; it may destroy the socket. */
  readonly onSecure: (socket: TLSSocket) => void;
  /** An upgraded connection that asked for AMQP. */
  readonly onWebSocket: (socket: WebSocket) => void;
}

export interface WebSocketListener {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * An HTTPS server on 127.0.0.1 whose only resource is the AMQP WebSocket. It shares the
 * raw-socket and after-handshake hooks with the TLS listener, so the hub's switches reach
 * WebSocket connections the same way.
 */
export async function listenWebSocket(options: WebSocketListenerOptions):
  Promise<WebSocketListener> {
  const server: HttpsServer = createServer({ key: options.keyPem, cert: options.certPem },
    (_request, response) => {
      // IoT Hub answers plain requests on this port with nothing useful either; 426 tells
      // a person with curl what the port is for.
      response.writeHead(426, { Connection: 'close', Upgrade: 'websocket' }).end();
    });

  const sockets = new WebSocket.Server({
    noServer: true,
    path: WEBSOCKET_PATH,
    // The SDK offers exactly one subprotocol, and verifyClient has made sure it is ours.
    handleProtocols: () => AMQP_WS_PROTOCOL,
    verifyClient: (info, callback) => {
      if (offersAmqp(info.req)) callback(true);
      else callback(false, 400, `subprotocol ${AMQP_WS_PROTOCOL} required`);
    },
    perMessageDeflate: false,
  });

  server.on('connection', options.onSocket);
  server.prependListener('secureConnection', options.onSecure);
  server.on('tlsClientError', () => undefined);
  server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    sockets.handleUpgrade(request, socket, head, (upgraded) => options.onWebSocket(upgraded));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: options.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;

  return {
    port,
    close: async () => {
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function offersAmqp(request: IncomingMessage): boolean {
  const header = request.headers['sec-websocket-protocol'] ?? '';
  return header.split(',').some((protocol) => protocol.trim() === AMQP_WS_PROTOCOL);
}
