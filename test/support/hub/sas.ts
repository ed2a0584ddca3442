import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Identity } from './registry';

/** The fields of `SharedAccessSignature sr=...&sig=...&se=...[&skn=...]`, as sent. */
export interface SasFields {
  readonly sr: string;
  readonly sig: string;
  readonly se: string;
  readonly skn?: string;
}

export type TokenCheck =
  | { readonly ok: true; readonly identity: Identity; readonly expiresAt: number }
  | {
    readonly ok: false;
    readonly reason: string;
    readonly identity?: Identity;
    readonly expiresAt?: number;
  };

export interface TokenCheckInput {
  /** The put-token `name` property. */
  readonly audience: string;
  readonly token: string;
  /** Host names the hub answers to, e.g. `localhost` and `localhost:15671`. */
  readonly hosts: readonly string[];
  readonly keyFor: (identity: Identity) => Buffer | undefined;
  /** Unix time in seconds. */
  readonly now: number;
}

const PREFIX = 'SharedAccessSignature ';
const KNOWN_FIELDS = new Set(['sr', 'sig', 'se', 'skn']);

/** Splits a token without decoding anything: the signature covers `sr` exactly as sent. */
export function parseSharedAccessSignature(token: string): SasFields | undefined {
  if (!token.startsWith(PREFIX)) return undefined;

  const fields = new Map<string, string>();
  for (const pair of token.slice(PREFIX.length).split('&')) {
    const at = pair.indexOf('=');
    if (at <= 0) return undefined;
    const name = pair.slice(0, at);
    if (!KNOWN_FIELDS.has(name) || fields.has(name)) return undefined;
    fields.set(name, pair.slice(at + 1));
  }

  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  if (!sr || !sig || !se) return undefined;
  const skn = fields.get('skn');
  return skn === undefined ? { sr, sig, se } : { sr, sig, se, skn };
}

/** `<host>/devices/<id>` or `<host>/devices/<id>/modules/<m>`, URL-decoded, to an identity. */
export function parseResource(resource: string, hosts: readonly string[]):
  Identity | undefined {
  const match = /^([^/]+)\/devices\/([^/]+)(?:\/modules\/([^/]+))?$/.exec(resource);
  if (!match) return undefined;

  const [, host, deviceId, moduleId] = match;
  if (host === undefined || deviceId === undefined) return undefined;
  if (!hosts.some((known) => known.toLowerCase() === host.toLowerCase())) return undefined;
  return moduleId === undefined ? { deviceId } : { deviceId, moduleId };
}

/** HMAC-SHA256 over `<sr as sent>\n<se>`, compared with the url-decoded `sig`. */
export function signatureMatches(fields: SasFields, key: Buffer): boolean {
  const expected = Buffer.from(
    createHmac('sha256', key).update(`${fields.sr}\n${fields.se}`).digest('base64'));
  const given = Buffer.from(safeDecode(fields.sig) ?? '');

  // timingSafeEqual needs equal lengths; the length of a base64 digest is no secret.
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Validates a put-token the way IoT Hub does, and says why when it refuses. */
export function checkToken(input: TokenCheckInput): TokenCheck {
  const fields = parseSharedAccessSignature(input.token);
  if (!fields) return { ok: false, reason: 'malformed shared access signature' };

  const expiresAt = /^\d{1,12}$/.test(fields.se) ? Number(fields.se) : undefined;
  if (expiresAt === undefined) return { ok: false, reason: 'malformed expiry (se)' };

  const resource = safeDecode(fields.sr);
  const identity = resource === undefined ? undefined : parseResource(resource, input.hosts);
  const refuse = (reason: string): TokenCheck => ({ ok: false, reason, identity, expiresAt });
  if (!identity) return refuse('resource (sr) is not a device or module of this hub');

  if (input.audience !== fields.sr && safeDecode(input.audience) !== resource) {
    return refuse('audience does not match the token resource');
  }
  if (fields.skn !== undefined) return refuse('shared access policies are not supported here');

  const key = input.keyFor(identity);
  if (!key) return refuse('unknown device or module');
  if (!signatureMatches(fields, key)) return refuse('signature does not match');
  if (expiresAt <= input.now) return refuse('token expired');

  return { ok: true, identity, expiresAt };
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}
