/**
 * What each player of a roulette round is owed, from the round's stored bets (pure). The table
 * pays it and the audit checks it against what was paid, from the same rule.
 */
import type { StoredTableBet } from "../../store/tableRounds.ts";
import { type RouletteBet, settleBet } from "./bets.ts";

/** The game id of roulette tables; also names the house account `house:roulette`. */
export const rouletteGameId = "roulette";

/** A bet as the wire parses it, in the shape the ledger stores it. */
export function storedBetOf(
  bet: RouletteBet,
  amount: number,
  clientSeed: string | null,
): StoredTableBet {
  const pick = bet.kind === "straight" ? bet.number : "n" in bet ? bet.n : null;
  return { kind: bet.kind, pick, amount, clientSeed };
}

/** The bet a stored row describes; throws on a row no valid bet could have produced. */
export function rouletteBetOf(stored: Pick<StoredTableBet, "kind" | "pick">): RouletteBet {
  const { kind, pick } = stored;
  switch (kind) {
    case "straight":
      if (pick === null || !Number.isInteger(pick) || pick < 0 || pick > 36) break;
      return { kind, number: pick };
    case "dozen":
    case "column":
      if (pick !== 1 && pick !== 2 && pick !== 3) break;
      return { kind, n: pick };
    case "red":
    case "black":
    case "even":
    case "odd":
    case "low":
    case "high":
      if (pick !== null) break;
      return { kind };
  }
  throw new Error(`stored roulette bet ${kind}/${pick} is not a valid bet`);
}

/**
 * Per player: the amount credited at settlement. `result` is the number drawn, or null for a
 * voided round (every stake comes back). A player whose bets all lost is owed 0 and still listed:
 * each player with bets gets exactly one settlement per round.
 */
export function settlementsOf(
  bets: readonly (Pick<StoredTableBet, "kind" | "pick" | "amount"> & { playerId: string })[],
  result: number | null,
): Map<string, number> {
  const owed = new Map<string, number>();
  for (const bet of bets) {
    const credit = result === null ? bet.amount : settleBet(rouletteBetOf(bet), bet.amount, result);
    const total = (owed.get(bet.playerId) ?? 0) + credit;
    if (!Number.isSafeInteger(total)) throw new Error(`settlement of ${bet.playerId} overflows`);
    owed.set(bet.playerId, total);
  }
  return owed;
}
