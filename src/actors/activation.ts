/**
 * One activation: the life in memory of the actor at one address, from its first message to
 * its passivation (or to its stop after too many failures).
 *
 *   idle         nothing running, nothing waiting; the instance, if any, is ready
 *   draining     messages run one at a time; the others wait in the bounded mailbox
 *   passivating  stopped() is running; messages that arrive wait in the mailbox and then run
 *                on a fresh instance, never on the stopped one
 *   removed      out of the table; the next message for the address creates a new activation
 *
 * An idle activation costs this object, its address and its instance's context: the mailbox,
 * the dedupe map and the restart times exist only while they hold something.
 */
import type { Envelope } from "./envelope.ts";
import { busyError, internalError, isRefusal } from "./errors.ts";
import { type ActivationHost, deadLetterReasons } from "./host.ts";
import { Mailbox } from "./mailbox.ts";
import { failureExceedsLimit } from "./supervision.ts";
import type { Actor, ActorAddress, ActorFactory } from "./types.ts";

/** A registered kind: shared by all its activations so that each holds one pointer, not four. */
export interface ActorKind {
  readonly name: string;
  readonly factory: ActorFactory<unknown, unknown>;
  readonly actors: Map<string, Activation>;
  /** This kind's mailbox capacity when it differs from the system's (e.g. one table, many bettors). */
  readonly mailboxCapacity?: number;
  readonly host: ActivationHost;
}

const idle = 0;
const draining = 1;
const passivating = 2;
const removed = 3;
type State = typeof idle | typeof draining | typeof passivating | typeof removed;

export class Activation {
  readonly address: ActorAddress;
  readonly #kind: ActorKind;
  #state: State = idle;
  /** Null before the first message and after a failure: the next message starts a new one. */
  #instance: Actor<unknown, unknown> | null = null;
  #restarts = 0;
  #restartTimesMs: number[] | null = null;
  #restartAtMs = 0;
  #lastActiveMs: number;
  #mailbox: Mailbox<Envelope> | null = null;
  /** Keys of the messages queued or running, for asks that share a dedupeKey. */
  #dedupe: Map<string, Envelope> | null = null;
  /** Set only while someone (system stop) waits for the next state change. */
  #transition: PromiseWithResolvers<void> | null = null;

  constructor(kind: ActorKind, id: string) {
    this.address = { kind: kind.name, id };
    this.#kind = kind;
    this.#lastActiveMs = performance.now();
  }

  /** The message queued or running under this key, if any. */
  pending(dedupeKey: string): Envelope | undefined {
    return this.#dedupe?.get(dedupeKey);
  }

  /** Takes a message; false when the mailbox is full, and then the message never runs. */
  offer(envelope: Envelope): boolean {
    if (this.#state === removed) throw new Error("offer to a removed activation"); // programmer error
    if (this.#state === idle) {
      this.#enter(draining);
      // Run on a microtask so that actor code never runs on the sender's stack.
      queueMicrotask(() => void this.#drain(envelope));
    } else {
      this.#mailbox ??= new Mailbox(
        this.#kind.mailboxCapacity ?? this.#kind.host.limits.mailboxCapacity,
      );
      if (!this.#mailbox.push(envelope)) return false;
    }
    if (envelope.dedupeKey !== undefined) {
      this.#dedupe ??= new Map();
      this.#dedupe.set(envelope.dedupeKey, envelope);
    }
    return true;
  }

  /** True when nothing has run or waited since `cutoffMs`. */
  idleSince(cutoffMs: number): boolean {
    if (this.#state !== idle || this.#lastActiveMs > cutoffMs) return false;
    // An actor with work of its own between messages (a table's round) says when it may go.
    return this.#instance?.mayPassivate?.() ?? true;
  }

  /** Runs stopped() and leaves the table, unless messages arrived meanwhile (see the header). */
  async passivate(): Promise<void> {
    if (this.#state !== idle) throw new Error("passivate a busy activation"); // programmer error
    const host = this.#kind.host;
    this.#enter(passivating);
    const instance = this.#instance;
    this.#instance = null;
    if (instance?.stopped !== undefined) {
      try {
        await instance.stopped();
      } catch (error) {
        host.report({ type: "passivation-failed", address: this.address, error });
      }
    }
    host.report({ type: "passivated", address: this.address });
    if (host.stopping) this.#dropQueued("the actor system is stopping");
    const next = this.#mailbox?.shift();
    if (next === undefined) {
      this.#mailbox = null;
      this.#enter(removed);
      return;
    }
    // A message arrived while stopped() ran: start a fresh activation for it on this record.
    this.#restarts = 0;
    this.#restartTimesMs = null;
    this.#restartAtMs = 0;
    host.report({ type: "activated", address: this.address });
    this.#enter(draining);
    void this.#drain(next);
  }

  /** For system stop: drops waiting messages (BUSY), lets the running one finish, passivates. */
  async shutdown(): Promise<void> {
    this.#dropQueued("the actor system is stopping");
    // At most two transitions: draining -> idle, or passivating -> removed.
    for (let turn = 0; turn < 3; turn += 1) {
      if (this.#state === removed) return;
      if (this.#state === idle) return this.passivate();
      await this.#nextTransition();
    }
    throw new Error("activation did not settle during shutdown"); // programmer error
  }

  async #drain(first: Envelope): Promise<void> {
    let envelope: Envelope | undefined = first;
    // Bounded by the work given: each turn takes one message out of a bounded mailbox.
    while (envelope !== undefined) {
      await this.#process(envelope);
      if (this.#state === removed) return;
      envelope = this.#mailbox?.shift();
    }
    this.#mailbox = null; // most actors sit idle: do not keep their storage
    this.#lastActiveMs = performance.now();
    this.#enter(idle);
  }

  /** Runs one message and answers it; never throws. */
  async #process(envelope: Envelope): Promise<void> {
    let instance = this.#instance;
    if (instance === null) {
      try {
        instance = await this.#startInstance();
      } catch (error) {
        // The message never reached receive(): certainly nothing moved, so BUSY.
        this.#settle(envelope, false, busyError(this.address, "the actor failed to start", error));
        this.#failed(error);
        return;
      }
    }
    let reply: unknown;
    try {
      reply = await instance.receive(envelope.message);
    } catch (error) {
      if (isRefusal(error)) {
        this.#settle(envelope, false, error);
        return;
      }
      this.#settle(envelope, false, internalError(this.address, error));
      this.#failed(error);
      return;
    }
    this.#settle(envelope, true, reply);
  }

  async #startInstance(): Promise<Actor<unknown, unknown>> {
    const delayMs = this.#restartAtMs - performance.now();
    if (delayMs > 0) await Bun.sleep(delayMs); // at most restartDelayMs
    const instance = this.#kind.factory({ address: this.address, restarts: this.#restarts });
    await instance.started?.();
    this.#instance = instance;
    return instance;
  }

  /**
   * A failure drops the instance: its memory is suspect, so stopped() is not called on it (it
   * must not flush anything) and the next message gets a new instance whose started() reloads
   * durable state. Beyond the restart limit the activation stops instead.
   */
  #failed(error: unknown): void {
    this.#instance = null;
    const { restartsMax, restartWindowMs, restartDelayMs } = this.#kind.host.limits;
    const nowMs = performance.now();
    this.#restartTimesMs ??= [];
    if (failureExceedsLimit(this.#restartTimesMs, nowMs, restartsMax, restartWindowMs)) {
      this.#enter(removed);
      this.#kind.host.report({
        type: "stopped-after-failures",
        address: this.address,
        restarts: this.#restarts,
        error,
      });
      this.#dropQueued("the actor was stopped after repeated failures");
      return;
    }
    this.#restarts += 1;
    this.#restartAtMs = nowMs + restartDelayMs;
    this.#kind.host.report({
      type: "restarted",
      address: this.address,
      restarts: this.#restarts,
      error,
    });
  }

  /** Answers every waiting message with BUSY: they never ran, so nothing moved. */
  #dropQueued(why: string): void {
    const mailbox = this.#mailbox;
    if (mailbox === null) return;
    // Bounded by the mailbox capacity.
    for (let envelope = mailbox.shift(); envelope !== undefined; envelope = mailbox.shift()) {
      this.#settle(envelope, false, busyError(this.address, why));
    }
  }

  #settle(envelope: Envelope, ok: boolean, value: unknown): void {
    const key = envelope.dedupeKey;
    const dedupe = this.#dedupe;
    if (key !== undefined && dedupe !== null && dedupe.get(key) === envelope) {
      dedupe.delete(key); // forgotten once settled: the actor's durable idempotency takes over
      if (dedupe.size === 0) this.#dedupe = null;
    }
    if (envelope.settle(ok, value)) return;
    const host = this.#kind.host;
    if (!envelope.isTell) host.deadLetter(this.address, deadLetterReasons.lateReply);
    else if (!ok) host.deadLetter(this.address, deadLetterReasons.tellFailed);
  }

  #enter(state: State): void {
    this.#state = state;
    if (state === removed) {
      const actors = this.#kind.actors;
      if (actors.get(this.address.id) !== this) throw new Error("activation table out of sync");
      actors.delete(this.address.id);
      this.#kind.host.activationRemoved();
    }
    const transition = this.#transition;
    if (transition !== null) {
      this.#transition = null;
      transition.resolve();
    }
  }

  #nextTransition(): Promise<void> {
    this.#transition ??= Promise.withResolvers<void>();
    return this.#transition.promise;
  }
}
