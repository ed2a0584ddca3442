import type { Sender } from 'rhea';
import type { ConnectionTransport } from './records';
import { identityKey, type Identity } from './registry';

/** What the hub remembers about one AMQP connection. */
export class ConnectionState {
  /** The link the client opened to receive put-token replies on. */
  cbsReplies: Sender | undefined;

  // identity key -> expiry in Unix seconds. The hub authorizes the connection per identity
  // (a connection may carry a device and its modules), not per link.
  private readonly expiries = new Map<string, number>();

  constructor(readonly id: number, readonly transport: ConnectionTransport) {}

  authorize(identity: Identity, expiresAt: number): void {
    this.expiries.set(identityKey(identity), expiresAt);
  }

  /** 'ok', or why not: never authorized, or the token it put has run out. */
  check(identity: Identity, now: number): 'ok' | 'no token' | 'token expired' {
    const expiresAt = this.expiries.get(identityKey(identity));
    if (expiresAt === undefined) return 'no token';
    return expiresAt > now ? 'ok' : 'token expired';
  }

  expireAll(): void {
    for (const key of this.expiries.keys()) this.expiries.set(key, 0);
  }

  forget(identity: Identity): void {
    this.expiries.delete(identityKey(identity));
  }
}
