/**
 * One message on its way through a mailbox, and the callers waiting for its answer.
 *
 * An ask has one waiter, plus one per duplicate ask that shares its `dedupeKey`; each waiter
 * has its own deadline. A tell has no waiter. The answer goes to every waiter still waiting;
 * when none is left (all timed out), the caller learns that the reply reached nobody.
 */
import { AskTimeoutError } from "./errors.ts";
import type { ActorAddress } from "./types.ts";

interface Waiter {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  timer: ReturnType<typeof setTimeout> | undefined;
  done: boolean;
}

export class Envelope {
  /** Null for a tell: nobody waits for the answer. */
  #waiters: Waiter[] | null = null;

  constructor(
    readonly message: unknown,
    readonly dedupeKey: string | undefined,
  ) {}

  get isTell(): boolean {
    return this.#waiters === null;
  }

  /**
   * Callers still waiting (not timed out). Drops the timed-out ones as it counts, so a stream of
   * duplicates that each time out cannot grow the list while the first message runs.
   */
  get waitingCount(): number {
    const waiters = this.#waiters;
    if (waiters === null) return 0;
    let kept = 0;
    for (const waiter of waiters) if (!waiter.done) waiters[kept++] = waiter;
    waiters.length = kept;
    return kept;
  }

  /** Adds a caller that waits at most `timeoutMs`; then it gets an AskTimeoutError. */
  addWaiter(address: ActorAddress, timeoutMs: number): Promise<unknown> {
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const waiter: Waiter = { resolve, reject, timer: undefined, done: false };
    waiter.timer = setTimeout(() => {
      waiter.done = true;
      reject(new AskTimeoutError(address, timeoutMs));
    }, timeoutMs);
    if (this.#waiters === null) this.#waiters = [waiter];
    else this.#waiters.push(waiter);
    return promise;
  }

  /**
   * Answers every waiter still waiting, with the same value (ok) or the same error.
   * Returns whether anyone received it: false for a tell or when every waiter timed out.
   */
  settle(ok: boolean, value: unknown): boolean {
    const waiters = this.#waiters;
    if (waiters === null) return false;
    let delivered = false;
    for (const waiter of waiters) {
      if (waiter.done) continue;
      waiter.done = true;
      clearTimeout(waiter.timer);
      if (ok) waiter.resolve(value);
      else waiter.reject(value);
      delivered = true;
    }
    return delivered;
  }
}
