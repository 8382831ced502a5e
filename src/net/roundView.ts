import { evaluateStops, slotGame } from "../games/slot/play.ts";
import type { RoundView } from "../store/ledger.ts";

interface StoredSlotRound {
  bet: number;
  win: number;
  stops: number[];
  paytableVersion: string;
  settlement?: { seq: number; balanceAfter: number; atMs?: number; at?: string };
  [field: string]: unknown;
}

/** Stored as epoch milliseconds (cheap on the hot path), shown as ISO 8601 like every time in the protocol. */
function withIsoTimes(stored: StoredSlotRound): StoredSlotRound {
  const settlement = stored.settlement;
  if (settlement?.atMs === undefined) return stored;
  const { atMs, ...rest } = settlement;
  return { ...stored, settlement: { ...rest, at: new Date(atMs).toISOString() } };
}

/**
 * A slot round as `GET /v1/rounds/:roundId` shows it. The ledger keeps the stops and the
 * paytable version; the window and line wins are evaluated again here, which also re-checks
 * the stored win against the game's own maths.
 */
export function presentRound(round: RoundView): string {
  if (round.game !== slotGame.id) return round.detail;
  const stored = withIsoTimes(JSON.parse(round.detail) as StoredSlotRound);
  if (stored.paytableVersion !== slotGame.paytableVersion) return JSON.stringify(stored);
  const outcome = evaluateStops(stored.stops, stored.bet);
  if (outcome.win !== stored.win) {
    // Never silently "correct" money: show what was paid, and say that it does not re-verify.
    return JSON.stringify({ ...stored, verified: false });
  }
  return JSON.stringify({
    ...stored,
    result: { stops: outcome.stops, window: outcome.window },
    lines: outcome.lines,
    scatter: outcome.scatter,
    verified: true,
  });
}
