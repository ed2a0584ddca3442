import type { Message } from 'azure-iot-common';

export interface Job {
  /** Arrival order; a job sent again goes back to its place, not to the end. */
  readonly seq: number;
  readonly message: Message;
  retriedUnauthorized: boolean;
  /** Its entry in the journal on disk, when it has one. */
  entry?: number;
  /** Read back from the journal at start: no flow waits for it. */
  readonly restored?: boolean;
  resolve(): void;
  reject(err: Error): void;
}

const RESTORED_SEQ = -(2 ** 50);

/** Messages waiting for the hub, in the order they arrived. */
export class SendQueue {
  private jobs: Job[] = [];
  private nextSeq = 0;

  get length(): number {
    return this.jobs.length;
  }

  push(message: Message, resolve: () => void, reject: (err: Error) => void): Job {
    const job: Job = { seq: this.nextSeq++, message, retriedUnauthorized: false, resolve, reject };
    this.jobs.push(job);
    return job;
  }

  /**
   * Puts messages from before a restart in front of everything queued since, oldest first;
   * once per queue. No flow waits for them: a failure goes to `failed`.
   */
  restore(entries: readonly { readonly entry: number; readonly message: Message }[],
    failed: (err: Error) => void): void {
    // Below every other seq, so that one sent again also goes back before the newer ones.
    const restored = entries.map(({ entry, message }, i): Job => ({
      seq: RESTORED_SEQ + i, message, retriedUnauthorized: false, entry, restored: true,
      resolve: () => undefined, reject: failed,
    }));
    this.jobs.unshift(...restored);
  }

  /** Every job waiting now, in order; for giving each a journal entry. */
  waiting(): readonly Job[] {
    return this.jobs;
  }

  shift(): Job | undefined {
    return this.jobs.shift();
  }

  /** Puts a job that failed in flight back before every later one. */
  requeue(job: Job): void {
    const at = this.jobs.findIndex((other) => other.seq > job.seq);
    if (at < 0) this.jobs.push(job);
    else this.jobs.splice(at, 0, job);
  }

  drain(): Job[] {
    const all = this.jobs;
    this.jobs = [];
    return all;
  }
}
