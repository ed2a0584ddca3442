/** A shared value and the promise to give it back; release is idempotent. */
export interface Lease<T> {
  readonly value: T;
  release(): Promise<void>;
}

/**
 * Process-wide shared resources by key, counted by lease: the first lease creates the
 * value, the last release disposes of it. A TPM connection, an I2C bus and an IoT Hub
 * client are each shared this way by every node that uses the same one, and a redeploy,
 * which closes every node, closes them.
 */
export class LeaseRegistry<T> {
  private readonly entries = new Map<string, { readonly value: T; users: number }>();

  constructor(private readonly dispose: (value: T) => Promise<void>) {}

  lease(key: string, create: () => T): Lease<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { value: create(), users: 0 };
      this.entries.set(key, entry);
    }
    entry.users++;
    const held = entry;
    let released = false;
    return {
      value: held.value,
      release: async () => {
        if (released) return;
        released = true;
        held.users--;
        if (held.users > 0) return;
        if (this.entries.get(key) === held) this.entries.delete(key);
        await this.dispose(held.value);
      },
    };
  }

  /** Keys held right now, so tests can tell that a redeploy let go. */
  keys(): string[] {
    return [...this.entries.keys()];
  }
}
