import { randomUUID } from 'node:crypto';
import { Message } from 'azure-iot-common';
import { PayloadError } from './errors';

/** IoT Hub's limit for one device-to-cloud message, body and properties together. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

export interface OutgoingMessage {
  readonly payload: unknown;
  /** Become application properties, which IoT Hub routing queries can use. */
  readonly properties?: unknown;
  readonly messageId?: unknown;
  readonly correlationId?: unknown;
  readonly contentType?: unknown;
}

/**
 * Builds the SDK message. Objects go as JSON with the content type and encoding that
 * IoT Hub routing needs to query the body; strings as UTF-8; Buffers as they are.
 */
export function buildMessage(input: OutgoingMessage): Message {
  const { body, json } = encodeBody(input.payload);
  const message = new Message(body);
  if (json) {
    message.contentType = 'application/json';
    message.contentEncoding = 'utf-8';
  } else if (typeof input.payload === 'string') {
    message.contentEncoding = 'utf-8';
  }
  if (typeof input.contentType === 'string' && input.contentType !== '') {
    // The SDK's type admits only JSON, but the hub and AMQP take any media type.
    (message as { contentType: string }).contentType = input.contentType;
  }

  message.messageId = idOf(input.messageId, 'msg.messageId') ?? randomUUID();
  const correlationId = idOf(input.correlationId, 'msg.correlationId');
  if (correlationId !== undefined) message.correlationId = correlationId;

  let propertyBytes = 0;
  for (const [key, value] of Object.entries(propertiesOf(input.properties))) {
    message.properties.add(key, value);
    propertyBytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }

  const size = body.length + propertyBytes;
  if (size > MAX_MESSAGE_BYTES) {
    throw new PayloadError(
      `message is ${size} bytes; IoT Hub accepts at most ${MAX_MESSAGE_BYTES} (256 KB). ` +
        'Send less per message, or upload large data as a file');
  }
  return message;
}

function encodeBody(payload: unknown): { body: Buffer; json: boolean } {
  if (payload === undefined || payload === null) {
    throw new PayloadError('msg.payload is empty; there is nothing to send');
  }
  if (Buffer.isBuffer(payload)) return { body: payload, json: false };
  if (typeof payload === 'string') return { body: Buffer.from(payload, 'utf8'), json: false };
  let text: string | undefined;
  try {
    text = JSON.stringify(payload);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new PayloadError(`msg.payload cannot be sent as JSON: ${reason}`);
  }
  if (text === undefined) {
    throw new PayloadError(`msg.payload of type ${typeof payload} cannot be sent as JSON`);
  }
  return { body: Buffer.from(text, 'utf8'), json: true };
}

function idOf(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw new PayloadError(`${what} must be a string`);
}

function propertiesOf(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new PayloadError('msg.properties must be an object of names and values');
  }
  const result: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      result[key] = String(v);
    } else if (v !== undefined && v !== null) {
      throw new PayloadError(`msg.properties.${key} must be a string, number or boolean`);
    }
  }
  return result;
}
