import { Tpm2Error } from './errors';
import { DeviceTransport } from './transport/device';
import { SocketTransport } from './transport/socket';
import type { Transport } from './transport/transport';

export const DEFAULT_DEVICE = '/dev/tpmrm0';
const DEFAULT_SIM_HOST = 'localhost';
const DEFAULT_SIM_PORT = 2321;

/** Where the TPM is, parsed from a TCTI string as tpm2-tools users write it. */
export type TctiConfig =
  | { readonly kind: 'device'; readonly path: string }
  | { readonly kind: 'swtpm' | 'mssim'; readonly host: string; readonly port: number };

export class TctiError extends Tpm2Error {
  override name = 'TctiError';
}

/**
 * Parses `device:/dev/tpmrm0`, `swtpm:host=H,port=P` or `mssim:host=H,port=P`. An empty
 * string means `$TPM2TOOLS_TCTI` when set, else the kernel's resource manager.
 */
export function parseTcti(tcti?: string, env: NodeJS.ProcessEnv = process.env): TctiConfig {
  const text = (tcti ?? '').trim() || (env['TPM2TOOLS_TCTI'] ?? '').trim();
  if (text === '') return { kind: 'device', path: DEFAULT_DEVICE };
  if (text.startsWith('/')) return { kind: 'device', path: devicePath(text) };

  const colon = text.indexOf(':');
  const name = (colon < 0 ? text : text.slice(0, colon)).toLowerCase();
  const conf = colon < 0 ? '' : text.slice(colon + 1);

  if (name === 'device') return { kind: 'device', path: devicePath(conf || DEFAULT_DEVICE) };
  if (name === 'swtpm' || name === 'mssim') return { kind: name, ...simulatorAddress(conf) };
  throw new TctiError(
    `unsupported TCTI "${name}"; use device:/dev/tpmrm0, swtpm:host=H,port=P or ` +
      'mssim:host=H,port=P');
}

// Commands are written to the path: anything but a TPM device would be corrupted by it.
function devicePath(path: string): string {
  if (!/^\/dev\/tpm(rm)?\d+$/.test(path)) {
    throw new TctiError('the device must be a TPM character device such as /dev/tpmrm0');
  }
  return path;
}

function simulatorAddress(conf: string): { host: string; port: number } {
  let host = DEFAULT_SIM_HOST;
  let port = DEFAULT_SIM_PORT;
  for (const part of conf.split(',').filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? '' : part.slice(0, eq).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (key === 'host' && value !== '') {
      host = value;
    } else if (key === 'port' && /^\d{1,5}$/.test(value) && Number(value) <= 65535) {
      port = Number(value);
    } else {
      throw new TctiError(`bad TCTI option "${part}"; expected host=NAME or port=NUMBER`);
    }
  }
  return { host, port };
}

export function formatTcti(config: TctiConfig): string {
  return config.kind === 'device'
    ? `device:${config.path}`
    : `${config.kind}:host=${config.host},port=${config.port}`;
}

export function createTransport(config: TctiConfig): Transport {
  return config.kind === 'device'
    ? new DeviceTransport(config.path)
    : new SocketTransport(config.host, config.port, config.kind);
}
