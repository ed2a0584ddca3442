import { connect } from 'node:tls';

/**
 * Why a connection to the hub fails, found by a plain TLS handshake. The SDK reports
 * most connection failures as a bare "disconnected", dropping the TLS or DNS error that
 * a person needs (a proxy inspecting TLS, a wrong CA, a typo in the host name).
 * Resolves undefined when the handshake works, so the cause lies above TLS.
 */
export function diagnoseConnection(
  host: string, defaultPort: number, ca: string | undefined, timeoutMs = 5000,
): Promise<string | undefined> {
  const match = /^(.*?)(?::(\d+))?$/.exec(host);
  const name = match?.[1] ?? host;
  const port = match?.[2] ? Number(match[2]) : defaultPort;
  return new Promise((resolve) => {
    const socket = connect({ host: name, port, servername: name, ...(ca ? { ca } : {}) });
    const finish = (reason: string | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reason);
    };
    const timer = setTimeout(
      () => finish(`no TLS handshake with ${name}:${port} within ${timeoutMs / 1000} s`),
      timeoutMs);
    socket.once('secureConnect', () => finish(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => finish(describe(err, name, port)));
  });
}

function describe(err: NodeJS.ErrnoException, name: string, port: number): string {
  switch (err.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve ${name}: check the host name and DNS`;
    case 'ECONNREFUSED':
      return `${name}:${port} refused the connection`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${name}:${port} cannot be reached (${err.code}): check the network or firewall`;
    default:
      if (/certificate|self.signed|unable to verify/i.test(err.message)) {
        return `TLS certificate of ${name} not trusted (${err.message}); a proxy inspecting ` +
          'TLS, or a missing trusted CA for a gateway';
      }
      return `${name}:${port}: ${err.message}`;
  }
}
