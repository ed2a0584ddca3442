import tls, { type TLSSocket } from 'node:tls';
import { isRecord } from './amqp-values';

/**
 * Takes this process's TLS connections to localhost:443 to `port` on 127.0.0.1 instead,
 * until the returned function is called.
 *
 * For code that builds an AmqpWs client with no way to pass `webSocketAgent` (HubClient):
 * AmqpWs always dials port 443, and ws opens its socket with `tls.connect` itself, so
 * neither a HostName with a port nor `https.globalAgent` reaches the hub. Everything else
 * stays as the caller asked: the server name, the trust store, the certificate check.
 */
export function routeLocalhost443(port: number): () => void {
  const original = tls.connect;

  const routed = function (this: unknown, ...args: unknown[]): TLSSocket {
    const [options] = args;
    if (isRecord(options) && isLocalhost443(options)) {
      args[0] = { ...options, host: '127.0.0.1', port };
    }
    return Reflect.apply(original, this, args) as TLSSocket;
  };
  tls.connect = routed as typeof tls.connect;

  return () => {
    if (tls.connect === routed) tls.connect = original;
  };
}

function isLocalhost443(options: Record<string, unknown>): boolean {
  const host = options.host ?? options.hostname;
  return host === 'localhost' && Number(options.port) === 443;
}
