import { Agent, type RequestOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect } from 'node:tls';

/**
 * An HTTPS agent that delivers every connection it is asked for to the hub's WebSocket
 * port on 127.0.0.1, whatever port the URL names.
 *
 * AmqpWs builds `wss://<HostName>:443/$iothub/websocket`, so a HostName that carries a
 * port becomes `localhost:PORT:443`, which is no URL (ws throws, uncaught). The SDK's
 * `amqp.webSocketAgent` option, meant for proxies, is its one way to dial elsewhere:
 * `HostName=localhost` plus this agent reaches the local hub.
 *
 * The TLS check is untouched: the server name is the one asked for and the trust store is
 * the caller's `ca`, so a client without the hub's CA still fails as it should.
 */
export class LocalHubAgent extends Agent {
  constructor(private readonly hubPort: () => number) {
    super({ keepAlive: false });
  }

  override createConnection(options: RequestOptions): Duplex {
    const servername = options.servername ?? options.hostname ?? options.host ?? 'localhost';
    return connect({
      host: '127.0.0.1',
      port: this.hubPort(),
      servername,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      rejectUnauthorized: options.rejectUnauthorized,
    });
  }
}
