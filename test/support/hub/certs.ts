import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A throw-away CA and a `localhost` server certificate it signed, on disk and in memory. */
export interface HubCertificates {
  readonly dir: string;
  readonly caPem: string;
  readonly caPath: string;
  readonly keyPem: string;
  readonly certPem: string;
  /** Removes the directory, private keys included. */
  remove(): Promise<void>;
}

// node:crypto can generate keys but cannot issue X.509 certificates, so the openssl CLI
// (present on Debian by default) does the signing. EC P-256 keeps start-up to a few ms.
const KEY_OPTIONS = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

// The SDK dials `localhost:PORT` and checks the name; some callers use 127.0.0.1.
const SERVER_EXTENSIONS = [
  'basicConstraints = critical, CA:FALSE',
  'keyUsage = critical, digitalSignature',
  'extendedKeyUsage = serverAuth',
  'subjectAltName = DNS:localhost, IP:127.0.0.1',
  '',
].join('\n');

export async function makeCertificates(): Promise<HubCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'local-hub-'));
  const path = (name: string): string => join(dir, name);

  try {
    await openssl(['req', '-x509', ...KEY_OPTIONS,
      '-keyout', path('ca.key'), '-out', path('ca.pem'), '-days', '2',
      '-subj', '/CN=local-hub test CA',
      '-addext', 'basicConstraints = critical, CA:TRUE',
      '-addext', 'keyUsage = critical, keyCertSign, cRLSign']);

    await openssl(['req', ...KEY_OPTIONS,
      '-keyout', path('server.key'), '-out', path('server.csr'), '-subj', '/CN=localhost']);

    await writeFile(path('server.ext'), SERVER_EXTENSIONS);
    await openssl(['x509', '-req', '-in', path('server.csr'),
      '-CA', path('ca.pem'), '-CAkey', path('ca.key'), '-set_serial', randomSerial(),
      '-days', '2', '-extfile', path('server.ext'), '-out', path('server.pem')]);

    // The CA key has signed its only certificate; nothing should be able to sign more.
    await rm(path('ca.key'));

    const [caPem, keyPem, certPem] = await Promise.all([
      readFile(path('ca.pem'), 'utf8'),
      readFile(path('server.key'), 'utf8'),
      readFile(path('server.pem'), 'utf8'),
    ]);
    return {
      dir, caPem, keyPem, certPem, caPath: path('ca.pem'),
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    const stderr = typeof err === 'object' && err !== null && 'stderr' in err
      ? String(err.stderr) : '';
    throw new Error(`openssl ${args[0] ?? ''} failed (is the openssl CLI installed?): ${stderr}`);
  }
}

function randomSerial(): string {
  // Every run has a CA with the same name; distinct serials keep certificates distinguishable.
  return `0x${randomBytes(8).toString('hex')}`;
}
