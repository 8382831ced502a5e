/**
 * What a client does with a sequenced message (docs/PROTOCOL.md: a player's seq grows by exactly
 * 1 per sequenced message), given the last seq it delivered in order:
 * - `next`: the one that follows; deliver it.
 * - `duplicate`: already delivered (a retry's reply, a copy on another path); drop it.
 * - `gap`: one or more before it are missing; deliver nothing past the gap and reconnect with
 *   `lastSeq` so the server replays the missing ones, in order, followed by this one again.
 */
export type SeqVerdict = "next" | "duplicate" | "gap";

/** Tracks the last seq delivered in order, so the application sees each seq once, in order. */
export class SeqTracker {
  #lastDelivered: number;

  constructor(lastDelivered: number) {
    this.#lastDelivered = lastDelivered;
  }

  /** The last seq delivered with nothing missing before it: what a reconnection asks to resume after. */
  get lastDelivered(): number {
    return this.#lastDelivered;
  }

  /** Judges a received seq; only `next` advances, so a gap is never skipped over. */
  receive(seq: number): SeqVerdict {
    if (seq <= this.#lastDelivered) return "duplicate";
    if (seq !== this.#lastDelivered + 1) return "gap";
    this.#lastDelivered = seq;
    return "next";
  }

  /** A fresh start with no history wanted: everything up to `seq` counts as seen. */
  startAfter(seq: number): void {
    this.#lastDelivered = seq;
  }

  /**
   * The server no longer stores the messages before `firstReplayed` (welcome's `replayFrom`):
   * they can never arrive, so waiting for them would reconnect forever.
   */
  skipLostBefore(firstReplayed: number): void {
    this.#lastDelivered = Math.max(this.#lastDelivered, firstReplayed - 1);
  }
}
