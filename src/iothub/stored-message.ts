import { Message } from 'azure-iot-common';

/** What of an outgoing message is kept on disk: everything `buildMessage` sets. */
export interface StoredMessage {
  readonly body: string;
  readonly messageId?: string;
  readonly correlationId?: string;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly properties?: readonly (readonly [string, string])[];
}

export function storeMessage(message: Message): StoredMessage {
  const data: unknown = message.data;
  const body = Buffer.isBuffer(data) ? data : Buffer.from(String(data), 'utf8');
  const properties: [string, string][] = [];
  for (let i = 0; i < message.properties.count(); i++) {
    const item = message.properties.getItem(i);
    if (item) properties.push([item.key, String(item.value)]);
  }
  return {
    body: body.toString('base64'),
    ...(message.messageId ? { messageId: String(message.messageId) } : {}),
    ...(message.correlationId ? { correlationId: String(message.correlationId) } : {}),
    ...(message.contentType ? { contentType: String(message.contentType) } : {}),
    ...(message.contentEncoding ? { contentEncoding: String(message.contentEncoding) } : {}),
    ...(properties.length > 0 ? { properties } : {}),
  };
}

/** The message again; anything that is not a stored message is refused with a reason. */
export function restoreMessage(stored: unknown): Message {
  if (typeof stored !== 'object' || stored === null) throw new Error('not a stored message');
  const s = stored as Record<string, unknown>;
  if (typeof s['body'] !== 'string') throw new Error('a stored message without a body');
  const message = new Message(Buffer.from(s['body'], 'base64'));
  const text = (key: string): string | undefined =>
    typeof s[key] === 'string' ? s[key] : undefined;
  message.messageId = text('messageId') ?? '';
  const correlationId = text('correlationId');
  if (correlationId !== undefined) message.correlationId = correlationId;
  const contentType = text('contentType');
  // The SDK's type admits only JSON, but the hub and AMQP take any media type.
  if (contentType !== undefined) (message as { contentType: string }).contentType = contentType;
  const contentEncoding = text('contentEncoding');
  if (contentEncoding !== undefined) {
    (message as { contentEncoding: string }).contentEncoding = contentEncoding;
  }
  const properties = Array.isArray(s['properties']) ? s['properties'] as unknown[] : [];
  for (const pair of properties) {
    if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string') {
      message.properties.add(pair[0], pair[1]);
    }
  }
  return message;
}
