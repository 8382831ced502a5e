/**
 * The actor system: routes messages to virtual actors addressed by (kind, id).
 *
 * - An actor is activated by its first message and passivated by the idle sweep (one timer
 *   for the whole system, unref'd) once it has had nothing to do for `idleMs`.
 * - Messages run one at a time per actor, in arrival order, also across an async receive().
 * - Each mailbox is bounded (`mailboxCapacity` waiting, not counting the one running); a
 *   message that finds it full is refused at once with BUSY and never runs.
 * - `ask` always has a deadline; a reply that comes after it is a dead letter.
 * - Supervision: a CroupierError other than INTERNAL is an answer (no restart); anything else
 *   answers INTERNAL and restarts the actor, up to `restartsMax` in `restartWindowMs`.
 * - Undeliverable messages and replies are counted and reported as dead letters, never thrown.
 */

import type { CroupierError } from "../errors.ts";
import { Activation, type ActorKind } from "./activation.ts";
import { Envelope } from "./envelope.ts";
import { busyError, duplicateNotWaitedError } from "./errors.ts";
import { ActivationHost, type ActorSystemStats, deadLetterReasons } from "./host.ts";
import { type ActorSystemOptions, askTimeoutMsMax, resolveLimits } from "./options.ts";
import type { ActorFactory, AskOptions } from "./types.ts";

export { AskTimeoutError } from "./errors.ts";
export type { ActorSystemStats } from "./host.ts";
export type { ActorSystemOptions } from "./options.ts";

export interface StopReport {
  /** Activations passivated by this stop. */
  passivated: number;
  /**
   * Activations still busy when `timeoutMs` ran out. Their running message may still finish;
   * each is passivated when it does.
   */
  remaining: number;
}

export class ActorSystem {
  readonly #host: ActivationHost;
  readonly #kinds = new Map<string, ActorKind>();
  #sweepTimer: ReturnType<typeof setInterval> | null;
  #stopped: Promise<StopReport> | null = null;

  constructor(options: ActorSystemOptions = {}) {
    this.#host = new ActivationHost(resolveLimits(options), options.onEvent);
    this.#sweepTimer = setInterval(() => this.#sweep(), this.#host.limits.sweepIntervalMs);
    this.#sweepTimer.unref(); // the sweep alone must never keep the process alive
  }

  /** `mailboxCapacity` overrides the system's for this kind (same meaning and range). */
  register<M, R>(
    kind: string,
    factory: ActorFactory<M, R>,
    options: { mailboxCapacity?: number } = {},
  ): void {
    if (kind.length === 0) throw new RangeError("actor kind must be a non-empty string");
    const { mailboxCapacity } = options;
    if (
      mailboxCapacity !== undefined &&
      (!Number.isInteger(mailboxCapacity) || mailboxCapacity < 1 || mailboxCapacity > 1_000_000)
    ) {
      throw new RangeError(
        `actor kind "${kind}" mailboxCapacity must be an integer in [1, 1000000]`,
      );
    }
    if (this.#kinds.has(kind)) throw new Error(`actor kind "${kind}" is already registered`);
    this.#kinds.set(kind, {
      name: kind,
      // Messages are checked by the kind's own receive(); the table stores kinds uniformly.
      factory: factory as ActorFactory<unknown, unknown>,
      actors: new Map(),
      host: this.#host,
      ...(mailboxCapacity === undefined ? {} : { mailboxCapacity }),
    });
  }

  /**
   * Sends `message` and waits for the reply, at most `options.timeoutMs`.
   * Rejects with BUSY (certainly not run), a refusal from the actor, INTERNAL (outcome unknown:
   * a failure, a duplicate beyond `dedupeWaitersMax` of a message still running) or
   * AskTimeoutError (INTERNAL: outcome unknown). Programmer errors (unknown kind, bad
   * options) reject with a TypeError or RangeError.
   */
  ask<M, R>(kind: string, id: string, message: M, options: AskOptions): Promise<R> {
    const { timeoutMs, dedupeKey } = options;
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0 || timeoutMs > askTimeoutMsMax) {
      return Promise.reject(new RangeError(`ask timeoutMs must be in (0, ${askTimeoutMsMax}]`));
    }
    if (dedupeKey !== undefined && dedupeKey.length === 0) {
      return Promise.reject(new RangeError("ask dedupeKey must be a non-empty string"));
    }
    const actorKind = this.#kinds.get(kind);
    if (actorKind === undefined) {
      return Promise.reject(new TypeError(`actor kind "${kind}" is not registered`));
    }
    const activation = this.#admit(actorKind, id, false);
    if (!(activation instanceof Activation)) return Promise.reject(activation);
    const first = dedupeKey === undefined ? undefined : activation.pending(dedupeKey);
    if (first !== undefined) {
      if (first.waitingCount >= this.#host.limits.dedupeWaitersMax) {
        return Promise.reject(
          duplicateNotWaitedError(activation.address, "too many duplicates waiting"),
        );
      }
      // Takes no mailbox slot: it shares the first message's outcome.
      return first.addWaiter(activation.address, timeoutMs) as Promise<R>;
    }
    const envelope = new Envelope(message, dedupeKey);
    const reply = envelope.addWaiter(activation.address, timeoutMs) as Promise<R>;
    if (!activation.offer(envelope)) {
      this.#host.countBusyRejection();
      envelope.settle(false, busyError(activation.address, "mailbox is full"));
    }
    return reply;
  }

  /**
   * Fire and forget. False when the message was not accepted (full mailbox or actor table, or
   * a stopping system); it is then a dead letter. An unknown kind is a programmer error: throws.
   */
  tell<M>(kind: string, id: string, message: M): boolean {
    const actorKind = this.#kinds.get(kind);
    if (actorKind === undefined) throw new TypeError(`actor kind "${kind}" is not registered`);
    const activation = this.#admit(actorKind, id, true);
    if (!(activation instanceof Activation)) return false;
    if (!activation.offer(new Envelope(message, undefined))) {
      this.#host.countBusyRejection();
      this.#host.deadLetter(activation.address, deadLetterReasons.mailboxFull);
      return false;
    }
    return true;
  }

  stats(): ActorSystemStats {
    return this.#host.stats();
  }

  /** Activations in memory, of one kind or of all. */
  activeCount(kind?: string): number {
    if (kind === undefined) return this.#host.activeActors;
    return this.#kinds.get(kind)?.actors.size ?? 0;
  }

  /** Whether (kind, id) is activated here now; asks nothing and activates nothing. */
  isActive(kind: string, id: string): boolean {
    return this.#kinds.get(kind)?.actors.has(id) ?? false;
  }

  /**
   * Stops taking messages (they get BUSY), answers waiting messages with BUSY (they never ran),
   * lets running ones finish and passivates every actor, all within `timeoutMs`.
   * Calling it again returns the first call's report.
   */
  stop(timeoutMs: number): Promise<StopReport> {
    if (this.#stopped !== null) return this.#stopped;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > askTimeoutMsMax) {
      return Promise.reject(new RangeError(`stop timeoutMs must be in [0, ${askTimeoutMsMax}]`));
    }
    this.#host.stopping = true;
    if (this.#sweepTimer !== null) clearInterval(this.#sweepTimer);
    this.#sweepTimer = null;
    this.#stopped = this.#shutdown(timeoutMs);
    return this.#stopped;
  }

  async #shutdown(timeoutMs: number): Promise<StopReport> {
    const passivatedBefore = this.#host.stats().passivations;
    // Collected first: shutting an actor down removes it from the table being walked.
    const activations: Activation[] = [];
    for (const actorKind of this.#kinds.values()) activations.push(...actorKind.actors.values());
    const deadline = Promise.withResolvers<void>();
    const timer = setTimeout(deadline.resolve, timeoutMs);
    await Promise.race([Promise.all(activations.map((a) => a.shutdown())), deadline.promise]);
    clearTimeout(timer);
    const passivated = this.#host.stats().passivations - passivatedBefore;
    return { passivated, remaining: this.#host.activeActors };
  }

  /**
   * The activation for (kind, id), created if needed; or the BUSY error when the system is
   * stopping or the actor table is full (counted and reported here, once).
   */
  #admit(actorKind: ActorKind, id: string, isTell: boolean): Activation | CroupierError {
    const host = this.#host;
    if (host.stopping) {
      const address = { kind: actorKind.name, id };
      host.deadLetter(address, deadLetterReasons.systemStopped);
      return busyError(address, "the actor system is stopping");
    }
    const existing = actorKind.actors.get(id);
    if (existing !== undefined) return existing;
    if (host.activeActors >= host.limits.activeActorsMax) {
      const address = { kind: actorKind.name, id };
      host.countBusyRejection();
      if (isTell) host.deadLetter(address, deadLetterReasons.mailboxFull);
      return busyError(address, "too many active actors");
    }
    const activation = new Activation(actorKind, id);
    actorKind.actors.set(id, activation);
    host.activationAdded();
    host.report({ type: "activated", address: activation.address });
    return activation;
  }

  /** Passivates every actor idle for idleMs; bounded by the number of activations. */
  #sweep(): void {
    const cutoffMs = performance.now() - this.#host.limits.idleMs;
    for (const actorKind of this.#kinds.values()) {
      for (const activation of actorKind.actors.values()) {
        if (activation.idleSince(cutoffMs)) void activation.passivate();
      }
    }
  }
}
