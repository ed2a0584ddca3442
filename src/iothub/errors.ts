import { errors } from 'azure-iot-common';

/** A message that cannot be sent as it is; sending it again would not help. */
export class PayloadError extends Error {
  override name = 'PayloadError';
}

/** The offline queue is full; the message was not accepted for sending. */
export class QueueFullError extends Error {
  override name = 'QueueFullError';
}

/** The hub refused the device's credentials, also with a fresh token. */
export class CredentialsRefusedError extends Error {
  override name = 'CredentialsRefusedError';
}

/** The settings cannot work (e.g. a transport that cannot reach the host as named). */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

/** The node was closed (redeploy, shutdown) before the hub accepted the message. */
export class ClosedError extends Error {
  override name = 'ClosedError';
}

export type FailureKind = 'unauthorized' | 'transient' | 'permanent';

/**
 * What to do after an SDK error: refresh the token, wait for the connection and send
 * again, or give up on this message.
 */
export function classify(err: unknown): FailureKind {
  if (err instanceof errors.UnauthorizedError || err instanceof errors.DeviceNotFoundError) {
    return 'unauthorized';
  }
  if (err instanceof errors.MessageTooLargeError || err instanceof errors.ArgumentError ||
    err instanceof errors.FormatError || err instanceof PayloadError ||
    err instanceof ConfigurationError) {
    return 'permanent';
  }
  return 'transient';
}

/** A reason short enough for a status line. */
export function shortReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = err instanceof Error && 'code' in err ? String(err.code) : '';
  const text = message.replace(/^AMQP Transport: /, '').split('\n')[0] ?? message;
  return (code && !text.includes(code) ? `${text} (${code})` : text).slice(0, 120);
}
