import { settlementsOf } from "../games/roulette/settlement.ts";
import type { TableRoundStore } from "../store/tableRounds.ts";

/**
 * Pays out (settled) or refunds (voided) one finished round: every player with bets gets exactly
 * one settlement, through that player's own actor (the single writer of the wallet, with the
 * player's next seq). Settlements are idempotent per (round, player) in the ledger, so running
 * this again, after a crash or from a second activation, pays nobody twice.
 *
 * It runs outside the table's mailbox turn: a player actor waiting on the table (a bet asking
 * for the open round) must never wait behind the table waiting on that player.
 */

export interface PlayerSettlement {
  playerId: string;
  kind: "payout" | "refund";
  /** Minor units credited; 0 for a payout whose bets all lost. */
  amount: number;
}

export interface SettlementDeps {
  ledger: Pick<TableRoundStore, "tableRoundBets" | "markTableRoundPaid">;
  /** Writes one player's settlement through the player's actor; rejects when it did not commit. */
  settlePlayer(settlement: PlayerSettlement): Promise<void>;
  /** Player settlements in flight at once. */
  concurrencyMax: number;
  /** Attempts of the whole round before it is left to the next recovery. */
  attemptsMax: number;
  /** Pause before attempt n (n >= 1): retryDelayMs x n. */
  retryDelayMs: number;
  /** True once the table has stopped: no further attempt (the next activation recovers). */
  stopped?: () => boolean;
}

export interface SettlementReport {
  /** Every player has its settlement and the round is marked paid. */
  complete: boolean;
  /** What each player was credited (also 0s), for the settled-round event. */
  credits: Map<string, number>;
  /** Why the last attempt fell short, when it did. */
  lastError?: unknown;
}

async function forEachBounded<T>(
  items: readonly T[],
  concurrencyMax: number,
  work: (item: T) => Promise<void>,
): Promise<unknown[]> {
  const errors: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrencyMax, items.length) }, worker));
  return errors;
}

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `result` is the number drawn, or null for a voided round (stakes come back). */
export async function settleFinishedRound(
  roundId: string,
  result: number | null,
  deps: SettlementDeps,
): Promise<SettlementReport> {
  const kind = result === null ? "refund" : "payout";
  let credits = new Map<string, number>();
  let lastError: unknown;
  for (let attempt = 0; attempt < deps.attemptsMax; attempt++) {
    if (attempt > 0) await pause(deps.retryDelayMs * attempt);
    if (deps.stopped?.()) {
      lastError ??= new Error("the table stopped before the round was paid");
      break;
    }
    try {
      // Read from the ledger every time: what is owed follows from the stored bets only.
      credits = settlementsOf(await deps.ledger.tableRoundBets(roundId), result);
      const errors = await forEachBounded([...credits], deps.concurrencyMax, ([playerId, amount]) =>
        deps.settlePlayer({ playerId, kind, amount }),
      );
      if (errors.length === 0) {
        if (await deps.ledger.markTableRoundPaid(roundId)) return { complete: true, credits };
        lastError = new Error(`round ${roundId} is not finished; it cannot be marked paid`);
        break;
      }
      lastError = errors[0];
    } catch (error) {
      lastError = error;
    }
  }
  return { complete: false, credits, lastError };
}
