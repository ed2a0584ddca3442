import { createServer } from 'node:net';

/** Asks the kernel for a free loopback port; with `pair`, one whose successor is free too. */
export async function freePort(pair = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenAndClose(0);
    if (!pair) return port;
    if (port < 65535 && (await isFree(port + 1))) return port;
  }
  throw new Error('no free loopback port pair found');
}

async function isFree(port: number): Promise<boolean> {
  try {
    await listenAndClose(port);
    return true;
  } catch {
    return false;
  }
}

function listenAndClose(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const chosen = typeof address === 'object' && address ? address.port : port;
      server.close(() => resolve(chosen));
    });
  });
}
