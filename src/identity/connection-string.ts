import { ConnectionStringError } from './errors';
import type { DeviceIdentity } from './layout';

/**
 * A parsed IoT Hub device connection string. The key lives in a private field so that
 * logging, inspecting or serialising the object can never print it.
 */
export class DeviceConnectionString {
  readonly #key: Buffer;

  constructor(
    readonly hostName: string,
    readonly deviceId: string,
    key: Buffer,
    readonly moduleId?: string,
    readonly gatewayHostName?: string,
  ) {
    this.#key = Buffer.from(key);
  }

  /** A copy of the decoded key bytes; the caller must not keep it longer than needed. */
  keyBytes(): Buffer {
    return Buffer.from(this.#key);
  }

  /** Everything but the key: what the TPM's NV indices will hold. */
  toJSON(): DeviceIdentity {
    return {
      hostName: this.hostName,
      deviceId: this.deviceId,
      ...(this.moduleId ? { moduleId: this.moduleId } : {}),
      ...(this.gatewayHostName ? { gatewayHostName: this.gatewayHostName } : {}),
    };
  }
}

type Field = 'HostName' | 'DeviceId' | 'SharedAccessKey' | 'ModuleId' | 'GatewayHostName';
const FIELDS: readonly Field[] = [
  'HostName', 'DeviceId', 'SharedAccessKey', 'ModuleId', 'GatewayHostName',
];

// Parts that show the user pasted the wrong kind of string; the fix differs for each.
const WRONG_KIND: Readonly<Record<string, string>> = {
  sharedaccesskeyname:
    'this is a hub or policy connection string (it has SharedAccessKeyName); copy the ' +
    "device's own connection string from IoT Hub > Devices > your device",
  sharedaccesssignature:
    'this holds a SAS token, which expires, not a key; copy the device\'s primary ' +
    'connection string instead',
  x509:
    'this device authenticates with X.509 certificates; a TPM-held key needs a device ' +
    'created with symmetric-key authentication',
  endpoint:
    'this looks like an Event Hub or Service Bus connection string, not an IoT Hub device one',
};

const HOST_LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOST = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*(?::\\d{1,5})?$`);
// IoT Hub identities: up to 128 ASCII letters, digits and - . % _ * ? ! ( ) , : = @ $ '
const IDENTITY_ID = /^[A-Za-z0-9\-.%_*?!(),:=@$']{1,128}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Parses `HostName=...;DeviceId=...;SharedAccessKey=...` (ModuleId and GatewayHostName
 * optional, names case-insensitive as Azure treats them). Messages name the problem and
 * never repeat a value, which might be the key.
 */
export function parseConnectionString(input: unknown): DeviceConnectionString {
  if (typeof input !== 'string') fail('the connection string must be text');
  const text = input.trim();
  if (text === '') {
    fail("the connection string is empty; copy the device's primary connection string " +
      'from IoT Hub > Devices > your device');
  }
  if (/^["'].*["']$/s.test(text)) fail('remove the quotes around the connection string');
  if (/[\r\n]/.test(text)) fail('the connection string spans several lines; paste it as one line');

  const fields = new Map<Field, string>();
  const parts = text.split(';');
  if (parts[parts.length - 1] === '') parts.pop();
  for (const part of parts) {
    const [field, value] = splitPart(part);
    if (fields.has(field)) fail(`${field} appears more than once`);
    fields.set(field, value);
  }

  const hostName = required(fields, 'HostName');
  const deviceId = required(fields, 'DeviceId');
  const key = required(fields, 'SharedAccessKey');
  const moduleId = fields.get('ModuleId');
  const gateway = fields.get('GatewayHostName');

  checkHost('HostName', hostName);
  if (gateway !== undefined) checkHost('GatewayHostName', gateway);
  checkId('DeviceId', deviceId);
  if (moduleId !== undefined) checkId('ModuleId', moduleId);
  return new DeviceConnectionString(hostName, deviceId, decodeKey(key), moduleId, gateway);
}

function splitPart(part: string): [Field, string] {
  if (part.trim() === '') fail('empty part between two semicolons');
  const eq = part.indexOf('=');
  const name = eq < 0 ? part : part.slice(0, eq);
  const lower = name.trim().toLowerCase();
  const wrongKind = WRONG_KIND[lower];
  if (wrongKind) fail(wrongKind);

  const field = FIELDS.find((f) => f.toLowerCase() === lower);
  if (!field) {
    const shown = /^[A-Za-z]{1,40}$/.test(name.trim()) ? `"${name.trim()}"` : 'a part';
    fail(`unknown ${shown}; a device connection string has HostName, DeviceId and ` +
      'SharedAccessKey, optionally ModuleId and GatewayHostName');
  }
  if (eq < 0) fail(`${field} has no value (expected ${field}=...)`);
  if (/\s/.test(part)) {
    fail(`${field} contains whitespace; paste the connection string exactly as Azure shows it`);
  }
  const value = part.slice(eq + 1);
  if (value === '') fail(`${field} is empty`);
  return [field, value];
}

function required(fields: ReadonlyMap<Field, string>, field: Field): string {
  const value = fields.get(field);
  if (value === undefined) fail(`${field} is missing`);
  return value;
}

function checkHost(field: Field, host: string): void {
  const port = /:(\d+)$/.exec(host)?.[1];
  if (!HOST.test(host) || host.length > 260 || (port !== undefined && Number(port) > 65535)) {
    fail(`${field} is not a host name (expected e.g. my-hub.azure-devices.net)`);
  }
}

function checkId(field: Field, id: string): void {
  if (!IDENTITY_ID.test(id)) {
    fail(`${field} is not a valid IoT Hub identity: 1 to 128 letters, digits and ` +
      "- . % _ * ? ! ( ) , : = @ $ '");
  }
}

function decodeKey(text: string): Buffer {
  if (!BASE64.test(text) || text.length % 4 !== 0) {
    fail('SharedAccessKey is not valid base64; copy the primary key again, whole');
  }
  const key = Buffer.from(text, 'base64');
  if (key.length === 0) fail('SharedAccessKey is empty');
  return key;
}

function fail(message: string): never {
  throw new ConnectionStringError(`invalid connection string: ${message}`);
}
