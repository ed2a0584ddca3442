import type { Message } from 'azure-iot-common';

export interface Job {
  /** Arrival order; a job sent again goes back to its place, not to the end. */
  readonly seq: number;
  readonly message: Message;
  retriedUnauthorized: boolean;
  resolve(): void;
  reject(err: Error): void;
}

/** Messages waiting for the hub, in the order they arrived. */
export class SendQueue {
  private jobs: Job[] = [];
  private nextSeq = 0;

  get length(): number {
    return this.jobs.length;
  }

  push(message: Message, resolve: () => void, reject: (err: Error) => void): void {
    this.jobs.push({ seq: this.nextSeq++, message, retriedUnauthorized: false, resolve, reject });
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
