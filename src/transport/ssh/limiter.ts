/**
 * A counting semaphore: at most `limit` holders at once, the rest wait in FIFO order. Used to
 * keep the channels of one connection below sshd's MaxSessions.
 */

/** See the file comment. */
export class Limiter {
  readonly #limit: number;
  readonly #waiting: (() => void)[] = [];
  #held = 0;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
  }

  /** Runs `fn` once a slot is free, and frees the slot when it settles. */
  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#held >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#held++;
    try {
      return await fn();
    } finally {
      // Hand the slot straight to the next waiter, so the count never dips and lets a newcomer jump the queue.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#held--;
    }
  }
}
