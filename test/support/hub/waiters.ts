import type { ReceivedMessage } from './records';

interface Waiter {
  readonly count: number;
  readonly resolve: (messages: ReceivedMessage[]) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** Promises that settle once the hub holds `count` messages, or fail after a timeout. */
export class MessageWaiters {
  private readonly waiting = new Set<Waiter>();

  wait(messages: readonly ReceivedMessage[], count: number, timeoutMs: number):
    Promise<ReceivedMessage[]> {
    if (messages.length >= count) return Promise.resolve(messages.slice(0, count));

    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        count, resolve, reject,
        timer: setTimeout(() => {
          this.waiting.delete(waiter);
          reject(new Error(`expected ${count} messages within ${timeoutMs} ms, ` +
            `got ${messages.length}`));
        }, timeoutMs),
      };
      this.waiting.add(waiter);
    });
  }

  /** Called after each new message. */
  update(messages: readonly ReceivedMessage[]): void {
    for (const waiter of this.waiting) {
      if (messages.length < waiter.count) continue;
      clearTimeout(waiter.timer);
      this.waiting.delete(waiter);
      waiter.resolve(messages.slice(0, waiter.count));
    }
  }

  cancel(reason: Error): void {
    for (const waiter of this.waiting) {
      clearTimeout(waiter.timer);
      waiter.reject(reason);
    }
    this.waiting.clear();
  }
}
