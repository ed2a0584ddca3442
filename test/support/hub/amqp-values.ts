// rhea types message fields and link termini as `any`; these guards narrow them to what the
// hub relies on, so a surprising peer fails a check instead of reaching into undefined.

/** An application property value as the hub records it. */
export type PropertyValue = string | number | boolean | null | Buffer | Date;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Buffer.isBuffer(value);
}

export function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Message and correlation ids may be strings, numbers, uuids (Buffers) or binary. */
export function idToString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.length === 16 ? uuid(value) : value.toString('hex');
  return undefined;
}

// The SDK sends a UUID-shaped message id as an AMQP uuid; the hub shows it dashed again.
function uuid(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)]
    .join('-');
}

/** The address of a source or target terminus, or undefined when there is none. */
export function terminusAddress(terminus: unknown): string | undefined {
  return isRecord(terminus) ? optionalString(terminus.address) : undefined;
}

/**
 * The payload as bytes. The SDK sends one data section, which rhea hands over as a Buffer;
 * other clients may send an amqp-value (a string or a structure) instead.
 */
export function bodyBytes(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (isRecord(body) && Buffer.isBuffer(body.content)) return body.content;
  if (body === undefined || body === null) return Buffer.alloc(0);
  return Buffer.from(JSON.stringify(body), 'utf8');
}

export function propertyMap(value: unknown): Record<string, PropertyValue> {
  const result: Record<string, PropertyValue> = {};
  if (!isRecord(value)) return result;

  for (const [name, item] of Object.entries(value)) {
    result[name] = toPropertyValue(item);
  }
  return result;
}

function toPropertyValue(item: unknown): PropertyValue {
  if (item === null || item === undefined) return null;
  if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') {
    return item;
  }
  if (Buffer.isBuffer(item) || item instanceof Date) return item;
  if (typeof item === 'bigint') return item.toString();
  return JSON.stringify(item);
}
