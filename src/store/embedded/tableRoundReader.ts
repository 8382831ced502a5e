import type { Database } from "bun:sqlite";
import {
  type PendingTableBet,
  type TableBetRecord,
  type TableRoundRecord,
  tableSettlementCommandId,
} from "../tableRounds.ts";

/**
 * Table-round reads on the main thread's read-only connection (see reader.ts: each read sees
 * every step and write whose promise has settled). The steps themselves run on the writer
 * thread (tableRounds.ts).
 */

/** A round as SQLite returns it: client seeds as JSON text, `paid` as 0 or 1. */
type RoundRow = Omit<TableRoundRecord, "clientSeeds" | "paid"> & {
  clientSeeds: string | null;
  paid: number;
};

const roundColumns = `round_id AS roundId, table_id AS "table", game, server_seed AS serverSeed,
  commit_hex AS "commit", opened_at AS openedAt, closes_at AS closesAt, status,
  client_seeds AS clientSeeds, result, closed_at AS closedAt, finished_at AS finishedAt, paid`;

function recordOf(row: RoundRow): TableRoundRecord {
  return {
    ...row,
    clientSeeds: row.clientSeeds === null ? null : (JSON.parse(row.clientSeeds) as string[]),
    paid: row.paid !== 0,
  };
}

export class TableRoundReader {
  readonly #round;
  readonly #bets;
  readonly #unfinished;
  readonly #voided;
  readonly #seats;
  readonly #pending;

  constructor(db: Database) {
    this.#round = db.prepare<RoundRow, [string]>(
      `SELECT ${roundColumns} FROM table_rounds WHERE round_id = ?`,
    );
    // The journal id of the bet's entry is its commit order.
    this.#bets = db.prepare<TableBetRecord, [string]>(
      `SELECT b.player_id AS playerId, b.command_id AS commandId, b.kind, b.pick, b.amount,
              b.client_seed AS clientSeed, b.at
       FROM table_bets b
       JOIN journal j ON j.player_id = b.player_id AND j.command_id = b.command_id
         AND j.round_id IS NULL
       WHERE b.round_id = ?
       ORDER BY j.id`,
    );
    // The condition repeats the partial index's WHERE (schema.ts) so that SQLite uses it.
    this.#unfinished = db.prepare<RoundRow, [string]>(
      `SELECT ${roundColumns} FROM table_rounds
       WHERE table_id = ? AND (status IN ('open', 'closed') OR paid = 0)
       ORDER BY opened_at, round_id`,
    );
    this.#voided = db.prepare<{ rounds: number }, [string]>(
      "SELECT COUNT(*) AS rounds FROM table_rounds WHERE table_id = ? AND status = 'voided'",
    );
    // Unfinished rounds by their partial index (its WHERE repeated), then the player's bets in
    // each by (round_id, player_id), less the rounds whose settlement of the player is in. The
    // join order is forced: without statistics SQLite would rather read all the player's bets
    // ever made by the primary key.
    this.#pending = db.prepare<PendingTableBet, [string, string]>(
      `SELECT r.table_id AS "table", r.round_id AS roundId, b.kind, b.pick, b.amount,
              b.client_seed AS clientSeed
       FROM table_rounds r INDEXED BY table_rounds_unfinished
       CROSS JOIN table_bets b INDEXED BY table_bets_by_round_player
         ON b.round_id = r.round_id AND b.player_id = ?1
       WHERE (r.status IN ('open', 'closed') OR r.paid = 0)
         AND NOT EXISTS (SELECT 1 FROM journal j WHERE j.player_id = ?1 AND j.command_id = ?2 || r.round_id
                         AND j.round_id IS NULL)
       ORDER BY r.opened_at, r.round_id, b.command_id`,
    );
    this.#seats = db.prepare<{ playerId: string }, [string]>(
      "SELECT player_id AS playerId FROM table_seats WHERE table_id = ? ORDER BY player_id",
    );
  }

  tableSeats(table: string): string[] {
    return this.#seats.all(table).map((row) => row.playerId);
  }

  pendingTableBets(playerId: string): PendingTableBet[] {
    return this.#pending.all(playerId, tableSettlementCommandId(""));
  }

  tableRound(roundId: string): TableRoundRecord | undefined {
    const row = this.#round.get(roundId);
    return row === null ? undefined : recordOf(row);
  }

  tableRoundBets(roundId: string): TableBetRecord[] {
    return this.#bets.all(roundId);
  }

  unfinishedTableRounds(table: string): TableRoundRecord[] {
    return this.#unfinished.all(table).map(recordOf);
  }

  voidedTableRoundCount(table: string): number {
    return this.#voided.get(table)?.rounds ?? 0;
  }
}
