import { evaluateStops, slotGame } from "../games/slot/play.ts";
import type { RoundView } from "../store/ledger.ts";

interface StoredSlotRound {
  bet: number;
  win: number;
  stops: number[];
  paytableVersion: string;
  [field: string]: unknown;
}

/**
 * A slot round as `GET /v1/rounds/:roundId` shows it. The ledger keeps the stops and the
 * paytable version; the window and line wins are evaluated again here, which also re-checks
 * the stored win against the game's own maths.
 */
export function presentRound(round: RoundView): string {
  if (round.game !== slotGame.id) return round.detail;
  const stored = JSON.parse(round.detail) as StoredSlotRound;
  if (stored.paytableVersion !== slotGame.paytableVersion) return round.detail;
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
