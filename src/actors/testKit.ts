/**
 * Helpers for the actor runtime's tests: latches on system events and a way to let pending
 * work run. Nothing here waits a fixed time.
 */
import type { CroupierError } from "../errors.ts";
import type { SystemEvent } from "./types.ts";

type EventOf<T extends SystemEvent["type"]> = Extract<SystemEvent, { type: T }>;

/** Records every event and hands out latches that resolve on the next matching one. */
export class EventLog {
  readonly events: SystemEvent[] = [];
  #waiters: { type: string; resolve: (event: SystemEvent) => void }[] = [];

  readonly onEvent = (event: SystemEvent): void => {
    this.events.push(event);
    const waiting = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiting) {
      if (waiter.type === event.type) waiter.resolve(event);
      else this.#waiters.push(waiter);
    }
  };

  /** Resolves on the next event of `type` emitted after this call. */
  next<T extends SystemEvent["type"]>(type: T): Promise<EventOf<T>> {
    const { promise, resolve } = Promise.withResolvers<EventOf<T>>();
    this.#waiters.push({ type, resolve: resolve as (event: SystemEvent) => void });
    return promise;
  }

  types(): string[] {
    return this.events.map((event) => event.type);
  }
}

/** Lets timers-free pending work (microtasks and immediates) run `turns` times. */
export async function macrotaskTurns(turns: number): Promise<void> {
  for (let turn = 0; turn < turns; turn += 1) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The error `promise` rejects with; fails the test if it resolves instead. */
export async function rejectionOf(promise: Promise<unknown>): Promise<CroupierError> {
  let value: unknown;
  try {
    value = await promise;
  } catch (error) {
    return error as CroupierError;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
}
