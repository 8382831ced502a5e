import { settleBet } from "../games/roulette/bets.ts";
import { rouletteBetOf, settlementsOf } from "../games/roulette/settlement.ts";
import type { TableBetRecord, TableRoundRecord } from "../store/tableRounds.ts";

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/**
 * A table round as `GET /v1/rounds/:roundId` shows it, to anyone: everything needed to check the
 * draw (docs/PROTOCOL.md, "Fairness"). The server seed is shown only once the round is settled or
 * voided: before that it would give the outcome away. Bets are shown without player ids.
 */
export function presentTableRound(round: TableRoundRecord, bets: readonly TableBetRecord[]) {
  const finished = round.status === "settled" || round.status === "voided";
  const result = round.result;
  const credits = finished ? settlementsOf(bets, result) : undefined;
  return {
    roundId: round.roundId,
    game: round.game,
    table: round.table,
    status: round.status,
    commit: round.commit,
    serverSeed: finished ? round.serverSeed : null,
    clientSeeds: round.clientSeeds,
    result: result === null ? null : { number: result },
    bets: bets.map((stored) => {
      const bet = rouletteBetOf(stored);
      return {
        bet,
        amount: stored.amount,
        clientSeed: stored.clientSeed,
        win: result === null ? null : settleBet(bet, stored.amount, result),
        at: iso(stored.at),
      };
    }),
    settlement: {
      status: round.status,
      paid: round.paid,
      totalStaked: bets.reduce((sum, bet) => sum + bet.amount, 0),
      totalCredited:
        credits === undefined ? null : [...credits.values()].reduce((sum, x) => sum + x, 0),
    },
    openedAt: iso(round.openedAt),
    closesAt: iso(round.closesAt),
    closedAt: iso(round.closedAt),
    finishedAt: iso(round.finishedAt),
  };
}
