import type { PlayerLimits, WalletWrite, WriteOutcome } from "./ledger.ts";
import { InvalidWriteError } from "./validateWrite.ts";

/**
 * Player limits as both backends apply them inside a write's transaction. The day's net loss is
 * a running total kept with the player's row (`lossDay`, `dayLoss`), updated by every write that
 * posts a bet, win or refund to the player, so checking a wager never scans history.
 */

export const noLimits: PlayerLimits = { selfExcludedUntil: null, lossLimitPerDay: null };

const dayMs = 86_400_000;

/** The UTC day number of an epoch-ms instant. */
export function utcDay(atMs: number): number {
  return Math.floor(atMs / dayMs);
}

/** A player's running loss of one UTC day (negative when the player is up). */
export interface DayLoss {
  lossDay: number;
  dayLoss: number;
}

/** Throws InvalidWriteError unless limits are well formed. */
export function validateLimits(limits: PlayerLimits): void {
  const { selfExcludedUntil, lossLimitPerDay } = limits;
  if (
    selfExcludedUntil !== null &&
    !(Number.isSafeInteger(selfExcludedUntil) && selfExcludedUntil >= 0)
  )
    throw new InvalidWriteError("selfExcludedUntil must be null or epoch ms");
  if (lossLimitPerDay !== null && !(Number.isSafeInteger(lossLimitPerDay) && lossLimitPerDay >= 0))
    throw new InvalidWriteError("lossLimitPerDay must be null or an integer >= 0");
}

/** The player is self-excluded at `atMs` (bets are refused until `selfExcludedUntil`). */
export function isExcluded(limits: PlayerLimits, atMs: number): boolean {
  return limits.selfExcludedUntil !== null && atMs < limits.selfExcludedUntil;
}

/** The day's loss so far as seen at `atMs` (a row of an earlier day counts as 0). */
export function lossToday(state: DayLoss, atMs: number): number {
  return state.lossDay === utcDay(atMs) ? state.dayLoss : 0;
}

/** The refusal a write gets from the player's limits, or undefined when they let it through. */
export function limitRefusal(
  write: WalletWrite,
  limits: PlayerLimits,
  state: DayLoss,
  atMs: number,
): WriteOutcome | undefined {
  if (write.wager === undefined) return undefined;
  if (isExcluded(limits, atMs)) return { status: "self_excluded" };
  if (
    limits.lossLimitPerDay !== null &&
    lossToday(state, atMs) + write.wager.amount > limits.lossLimitPerDay
  )
    return { status: "loss_limit" };
  return undefined;
}

/** The day's running loss after a committed write: bets add, wins and refunds take away. */
export function dayLossAfter(write: WalletWrite, state: DayLoss, atMs: number): DayLoss {
  const account = `player:${write.playerId}`;
  let delta = 0;
  for (const posting of write.postings) {
    if (posting.account !== account) continue;
    if (posting.kind === "bet" || posting.kind === "win" || posting.kind === "refund")
      delta -= posting.amount;
  }
  const day = utcDay(atMs);
  if (delta === 0 && state.lossDay !== day) return state;
  // Held to a safe integer: a day of losses (or wins) past 2^53 would be a row no backend can
  // read back exactly. Past it, every limit is exceeded (or far off) all the same.
  const dayLoss = Math.min(
    Number.MAX_SAFE_INTEGER,
    Math.max(-Number.MAX_SAFE_INTEGER, lossToday(state, atMs) + delta),
  );
  return { lossDay: day, dayLoss };
}
