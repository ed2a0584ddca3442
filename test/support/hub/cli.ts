// A local IoT Hub for the demo and for trying the nodes by hand:
//   node --import tsx test/support/hub/cli.ts [--port N] [--ws-port N] [--device ID]
//     [--module M] [--key-file PATH] [--connection-string-file PATH]
// --ws-port is where AMQP over WebSockets listens (a free port by default); the SDK's AmqpWs
// always dials port 443, so only --ws-port 443 serves it without a webSocketAgent.
// The device key comes from LOCAL_HUB_DEVICE_KEY, or from --key-file (created with a random
// key when missing). Keys and connection strings only ever go to files with mode 0600.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startHub, type ReceivedMessage } from './index';

const PREVIEW_CHARS = 120;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.LOCAL_HUB_PORT ?? '0' },
      'ws-port': { type: 'string', default: process.env.LOCAL_HUB_WS_PORT ?? '0' },
      device: { type: 'string', default: process.env.LOCAL_HUB_DEVICE_ID ?? 'demo-device' },
      module: { type: 'string', default: process.env.LOCAL_HUB_MODULE_ID },
      'key-file': { type: 'string' },
      'connection-string-file': { type: 'string' },
    },
  });

  const port = portNumber('--port', values.port);
  const wsPort = portNumber('--ws-port', values['ws-port']);
  const key = await deviceKey(values['key-file']);

  const hub = await startHub({
    port,
    wsPort,
    log: (line) => console.log(`hub: ${line}`),
    onMessage: (message) => console.log(describe(message)),
  });
  hub.addDevice(values.device, key, values.module);

  const csFile = values['connection-string-file'];
  if (csFile !== undefined) {
    await writeFile(csFile, `${hub.connectionString(values.device, values.module)}\n`,
      { mode: 0o600 });
  }

  const who = values.module === undefined ? values.device : `${values.device}/${values.module}`;
  console.log(`host: ${hub.host}`);
  console.log(`websocket: localhost:${hub.wsPort}`);
  console.log(`ca: ${hub.caPath}`);
  console.log(`device: ${who}`);
  if (csFile !== undefined) console.log(`connection string written to: ${csFile}`);
  if (key === undefined && csFile === undefined) {
    console.log('note: the device has a random key that is written nowhere; ' +
      'pass --key-file or --connection-string-file to use it');
  }
  console.log('ready');

  const stop = (): void => {
    hub.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function portNumber(flag: string, text: string | undefined): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${flag} must be a port number, got ${text ?? ''}`);
  }
  return port;
}

/** The key from the environment, from a key file, or a new one saved to that file. */
async function deviceKey(keyFile: string | undefined): Promise<string | undefined> {
  const fromEnv = process.env.LOCAL_HUB_DEVICE_KEY;
  if (fromEnv) return fromEnv;
  if (keyFile === undefined) return undefined;

  if (existsSync(keyFile)) return (await readFile(keyFile, 'utf8')).trim();
  const key = randomBytes(32).toString('base64');
  await writeFile(keyFile, `${key}\n`, { mode: 0o600 });
  return key;
}

function describe(message: ReceivedMessage): string {
  const who = message.moduleId === undefined
    ? message.deviceId : `${message.deviceId}/${message.moduleId}`;
  const type = message.contentType ?? '-';
  const text = message.body.toString('utf8');

  // Sensor readings are JSON; anything that does not round-trip as UTF-8 is shown as hex.
  const printable = Buffer.from(text, 'utf8').equals(message.body) && !hasControls(text);
  const preview = printable
    ? text.slice(0, PREVIEW_CHARS)
    : `0x${message.body.subarray(0, PREVIEW_CHARS / 2).toString('hex')}`;
  return `message: ${message.receivedAt.toISOString()} ${who} ${message.body.length} bytes ` +
    `${type} ${preview}`;
}

function hasControls(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) < 0x20) return true;
  }
  return false;
}

main().catch((err: unknown) => {
  console.error(`local hub: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
