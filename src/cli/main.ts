#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { IdentityStore } from '../identity';
import { Tpm } from '../tpm2';
import * as commands from './commands';
import { CliError, EXIT, exitCodeOf } from './errors';
import { readSecretLine } from './read-secret';

const USAGE = `Usage:
  azure-iot-tpm provision [--tpm TCTI] [--slot N] [--force] [CONNECTION_STRING | -]
  azure-iot-tpm show      [--tpm TCTI] [--slot N] [--json]
  azure-iot-tpm token     [--tpm TCTI] [--slot N] [--ttl SECONDS]
  azure-iot-tpm clear     [--tpm TCTI] [--slot N] [--force]
  azure-iot-tpm info      [--tpm TCTI]

Keeps an Azure IoT Hub device key inside a TPM 2.0 and signs SAS tokens with it.
  --tpm    device:/dev/tpmrm0 (default), swtpm:host=H,port=P or mssim:host=H,port=P;
           $TPM2TOOLS_TCTI is used when --tpm is not given
  --slot   0-9 (default 0): handle 0x81000100+N, NV index 0x01400100+N
  -        read the connection string from standard input (keeps it out of shell history)
Exit codes: 0 success, 1 TPM or I/O failure, 2 bad usage or input.`;

const io: commands.Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tpm: { type: 'string' },
      slot: { type: 'string', default: '0' },
      ttl: { type: 'string', default: '3600' },
      force: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    (values.help ? io.out : io.err)(USAGE);
    return values.help ? EXIT.OK : EXIT.USAGE;
  }
  const slot = wholeNumber('--slot', values.slot);
  const tpm = Tpm.open(values.tpm);
  const store = new IdentityStore(tpm);
  try {
    switch (command) {
      case 'provision':
        await commands.provision(store, slot, await connectionString(rest), values.force, io);
        break;
      case 'show':
        await commands.show(store, slot, values.json, io);
        break;
      case 'token':
        await commands.token(store, slot, wholeNumber('--ttl', values.ttl), io);
        break;
      case 'clear':
        await commands.clear(store, slot, values.force, io);
        break;
      case 'info':
        await commands.info(store, io);
        break;
      default:
        throw new CliError(`unknown command "${command}"\n\n${USAGE}`, EXIT.USAGE);
    }
    return EXIT.OK;
  } finally {
    await tpm.close().catch(() => undefined);
  }
}

async function connectionString(args: string[]): Promise<string> {
  if (args.length > 1) {
    throw new CliError('give one connection string; quote it, or pass - and pipe it in',
      EXIT.USAGE);
  }
  const [arg] = args;
  if (arg !== undefined && arg !== '-') return arg;
  return readSecretLine('Paste the device connection string (not shown), then Enter: ');
}

function wholeNumber(option: string, text: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text)) {
    throw new CliError(`${option} takes a whole number`, EXIT.USAGE);
  }
  return Number(text);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`azure-iot-tpm: ${message}\n`);
    process.exit(exitCodeOf(err));
  },
);
