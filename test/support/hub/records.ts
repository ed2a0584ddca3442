import type { PropertyValue } from './amqp-values';

/** How a client reached the hub: AMQP over TLS (the SDK's Amqp) or over WebSockets (AmqpWs). */
export type ConnectionTransport = 'amqp' | 'amqp-ws';

/** One telemetry message the hub accepted, as a service-side reader would see it. */
export interface ReceivedMessage {
  readonly deviceId: string;
  readonly moduleId?: string;
  readonly body: Buffer;
  readonly messageId?: string;
  readonly correlationId?: string;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  /** AMQP application properties: the SDK's `message.properties`. */
  readonly properties: Readonly<Record<string, PropertyValue>>;
  readonly receivedAt: Date;
  /** Which connection carried it (1 for the hub's first connection). */
  readonly connectionId: number;
  readonly transport: ConnectionTransport;
}

/** One put-token request. The token itself is never kept. */
export interface PutTokenEvent {
  readonly connectionId: number;
  readonly transport: ConnectionTransport;
  readonly audience: string;
  readonly deviceId?: string;
  readonly moduleId?: string;
  /** The token's `se`, when it could be read. */
  readonly expiresAt?: Date;
  readonly accepted: boolean;
  /** Why it was refused; the same text goes back as `status-description`. */
  readonly reason?: string;
  readonly at: Date;
}

/**
 * A telemetry message the hub refused, or (in `refusedLinks`) a link it refused to attach,
 * and the condition it answered with.
 */
export interface RejectedMessage {
  readonly connectionId: number;
  readonly address: string;
  readonly condition: string;
  readonly at: Date;
}
