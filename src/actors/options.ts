/**
 * The actor system's limits: one table of defaults with units, merged once and validated at
 * construction so that a bad value fails at startup with the key and the reason.
 */
import type { SystemEvent } from "./types.ts";

export interface ActorSystemOptions {
  /**
   * Messages that may wait in one actor's mailbox, NOT counting the one being processed.
   * With capacity 4 an actor holds at most 5 messages: 1 running and 4 waiting. One more is
   * refused at once with BUSY and never runs.
   */
  mailboxCapacity?: number;
  /** An actor with nothing running or waiting for this long is passivated. */
  idleMs?: number;
  /** Restarts allowed within `restartWindowMs`; one more stops the activation. */
  restartsMax?: number;
  restartWindowMs?: number;
  /** Pause before a restarted actor's new instance starts, so a failing dependency is not hammered. */
  restartDelayMs?: number;
  /** Period of the one idle sweep of the whole system; default derived from `idleMs`. */
  sweepIntervalMs?: number;
  /** Activations held in memory at most; a message that would create one more gets BUSY. */
  activeActorsMax?: number;
  /** Callers that may wait on one message through its `dedupeKey`, the first one included. */
  dedupeWaitersMax?: number;
  /** Receives every system event. It must not throw; what it throws is ignored. */
  onEvent?: (event: SystemEvent) => void;
}

export type ActorSystemLimits = Readonly<Required<Omit<ActorSystemOptions, "onEvent">>>;

export const actorSystemDefaults = {
  mailboxCapacity: 64, // messages waiting
  idleMs: 10 * 60_000, // 10 minutes
  restartsMax: 3, // restarts per window
  restartWindowMs: 60_000, // 1 minute
  restartDelayMs: 10, // milliseconds
  activeActorsMax: 1_000_000, // activations
  dedupeWaitersMax: 64, // callers per message
} as const;

/** Sweep period bounds: often enough to keep passivation near `idleMs`, rarely enough to be cheap. */
export const sweepIntervalMsMin = 1;
export const sweepIntervalMsMax = 60_000;

/** Integer range each numeric option must fall in. */
const ranges: Record<keyof ActorSystemLimits, { min: number; max: number }> = {
  mailboxCapacity: { min: 1, max: 1_000_000 },
  idleMs: { min: 1, max: 24 * 3_600_000 },
  restartsMax: { min: 0, max: 1_000 },
  restartWindowMs: { min: 1, max: 24 * 3_600_000 },
  restartDelayMs: { min: 0, max: 60_000 },
  sweepIntervalMs: { min: sweepIntervalMsMin, max: sweepIntervalMsMax },
  activeActorsMax: { min: 1, max: 100_000_000 },
  dedupeWaitersMax: { min: 1, max: 1_000_000 },
};

/** Fills defaults and validates; throws a RangeError naming the key and the reason. */
export function resolveLimits(options: ActorSystemOptions): ActorSystemLimits {
  const idleMs = options.idleMs ?? actorSystemDefaults.idleMs;
  const limits: ActorSystemLimits = {
    mailboxCapacity: options.mailboxCapacity ?? actorSystemDefaults.mailboxCapacity,
    idleMs,
    restartsMax: options.restartsMax ?? actorSystemDefaults.restartsMax,
    restartWindowMs: options.restartWindowMs ?? actorSystemDefaults.restartWindowMs,
    restartDelayMs: options.restartDelayMs ?? actorSystemDefaults.restartDelayMs,
    sweepIntervalMs: options.sweepIntervalMs ?? defaultSweepIntervalMs(idleMs),
    activeActorsMax: options.activeActorsMax ?? actorSystemDefaults.activeActorsMax,
    dedupeWaitersMax: options.dedupeWaitersMax ?? actorSystemDefaults.dedupeWaitersMax,
  };
  for (const key of Object.keys(ranges) as (keyof ActorSystemLimits)[]) {
    const value = limits[key];
    const { min, max } = ranges[key];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(
        `actor system option ${key}: ${value} is not an integer in [${min}, ${max}]`,
      );
    }
  }
  return limits;
}

/** A quarter of `idleMs`: an idle actor is passivated between idleMs and 1.25 x idleMs. */
export function defaultSweepIntervalMs(idleMs: number): number {
  return Math.min(Math.max(Math.ceil(idleMs / 4), sweepIntervalMsMin), sweepIntervalMsMax);
}

/** setTimeout fires at once for delays above 2^31 - 1 ms, so that is the longest ask. */
export const askTimeoutMsMax = 2_147_483_647;
