/**
 * What activations share: the limits, the counters and the event listener of one system.
 * Counters are derived from the events, so a count and its event can never disagree.
 */
import { assertNever } from "../errors.ts";
import type { ActorSystemLimits } from "./options.ts";
import type { ActorAddress, SystemEvent } from "./types.ts";

export interface ActorSystemStats {
  /** Activations in memory now (including ones being passivated). */
  activeActors: number;
  /** Activations created since start (a re-activation after passivation counts again). */
  activations: number;
  passivations: number;
  restarts: number;
  /** Messages or replies that reached nobody: see `deadLetterReasons`. */
  deadLetters: number;
  /** Messages refused with BUSY because a mailbox or the actor table was full. */
  busyRejections: number;
}

export const deadLetterReasons = {
  /** An ask's answer came after every caller had timed out. */
  lateReply: "late-reply",
  /** A tell was refused, failed, or was dropped before it ran: nobody to tell. */
  tellFailed: "tell-failed",
  /** A tell found the mailbox (or the actor table) full. */
  mailboxFull: "mailbox-full",
  /** A message was sent to a system that is stopping or stopped. */
  systemStopped: "system-stopped",
} as const;

export class ActivationHost {
  stopping = false;
  readonly #counts: ActorSystemStats = {
    activeActors: 0,
    activations: 0,
    passivations: 0,
    restarts: 0,
    deadLetters: 0,
    busyRejections: 0,
  };

  constructor(
    readonly limits: ActorSystemLimits,
    readonly onEvent: ((event: SystemEvent) => void) | undefined,
  ) {}

  stats(): ActorSystemStats {
    return { ...this.#counts };
  }

  /** Counts the event, then hands it to the listener; a throwing listener cannot break the runtime. */
  report(event: SystemEvent): void {
    const counts = this.#counts;
    switch (event.type) {
      case "activated":
        counts.activations += 1;
        break;
      case "passivated":
        counts.passivations += 1;
        break;
      case "restarted":
        counts.restarts += 1;
        break;
      case "dead-letter":
        counts.deadLetters += 1;
        break;
      case "stopped-after-failures":
      case "passivation-failed":
        break;
      default:
        assertNever(event);
    }
    if (this.onEvent === undefined) return;
    try {
      this.onEvent(event);
    } catch {
      // Ignored on purpose: observability must never change what the runtime does.
    }
  }

  deadLetter(address: ActorAddress, reason: string): void {
    this.report({ type: "dead-letter", address, reason });
  }

  countBusyRejection(): void {
    this.#counts.busyRejections += 1;
  }

  activationAdded(): void {
    this.#counts.activeActors += 1;
  }

  activationRemoved(): void {
    if (this.#counts.activeActors <= 0) throw new Error("active actor count underflow"); // programmer error
    this.#counts.activeActors -= 1;
  }

  get activeActors(): number {
    return this.#counts.activeActors;
  }
}
