import {
  type PendingTableBet,
  type TableBetRecord,
  type TableRoundRecord,
  type TableRoundStatus,
  tableSettlementCommandId,
} from "../tableRounds.ts";
import { safeInteger, safeIntegerOrNull } from "./integers.ts";
import type { Connection } from "./pool.ts";
import { isStorableText } from "./text.ts";

/**
 * Reads of table rounds and their bets, each one index-driven statement: a round by its key, a
 * round's bets by `table_bets_round_player`, a table's unfinished rounds by `table_rounds_unpaid` (a
 * round is marked paid only once finished, so the unpaid ones are exactly the open, the closed
 * and the finished-but-unpaid), and its voided ones by `table_rounds_voided`. Times are epoch
 * milliseconds, floored, as everywhere in the store.
 */

interface RoundDbRow {
  round_id: string;
  table_id: string;
  game: string;
  status: TableRoundStatus;
  server_seed: string;
  commit_hex: string;
  client_seeds: string | null;
  result: number | null;
  opened_at_ms: string;
  closes_at_ms: string;
  closed_at_ms: string | null;
  finished_at_ms: string | null;
  paid: boolean;
}

function roundColumns(sql: Connection) {
  return sql`
    round_id, table_id, game, status, server_seed, commit_hex, client_seeds, result,
    opened_at_ms, closes_at_ms,
    floor(extract(epoch FROM closed_at) * 1000)::bigint AS closed_at_ms,
    floor(extract(epoch FROM finished_at) * 1000)::bigint AS finished_at_ms, paid`;
}

function clientSeedsOf(text: string | null, roundId: string): string[] | null {
  if (text === null) return null;
  const seeds: unknown = JSON.parse(text);
  if (!Array.isArray(seeds) || !seeds.every((seed) => typeof seed === "string")) {
    throw new TypeError(`client_seeds of round ${roundId} is not a JSON array of strings`);
  }
  return seeds;
}

function roundOf(row: RoundDbRow): TableRoundRecord {
  const what = `round ${row.round_id}`;
  return {
    roundId: row.round_id,
    table: row.table_id,
    game: row.game,
    serverSeed: row.server_seed,
    commit: row.commit_hex,
    openedAt: safeInteger(row.opened_at_ms, `opened_at_ms of ${what}`),
    closesAt: safeInteger(row.closes_at_ms, `closes_at_ms of ${what}`),
    status: row.status,
    clientSeeds: clientSeedsOf(row.client_seeds, row.round_id),
    result: safeIntegerOrNull(row.result, `result of ${what}`),
    closedAt: safeIntegerOrNull(row.closed_at_ms, `closed_at of ${what}`),
    finishedAt: safeIntegerOrNull(row.finished_at_ms, `finished_at of ${what}`),
    paid: row.paid,
  };
}

export async function tableRound(
  sql: Connection,
  roundId: string,
): Promise<TableRoundRecord | undefined> {
  if (!isStorableText(roundId)) return undefined;
  const [row] = await sql<RoundDbRow[]>`
    SELECT ${roundColumns(sql)} FROM table_rounds WHERE round_id = ${roundId}`;
  return row === undefined ? undefined : roundOf(row);
}

interface BetDbRow {
  player_id: string;
  command_id: string;
  kind: string;
  pick: number | null;
  amount: string;
  client_seed: string | null;
  at_ms: string;
}

/**
 * In the order the bets' journal rows were inserted, which is commit order for the bets of one
 * batch and of one player; bets of concurrent batches commit in the order their ids were drawn
 * unless those batches' COMMITs overtake each other.
 */
export async function tableRoundBets(sql: Connection, roundId: string): Promise<TableBetRecord[]> {
  if (!isStorableText(roundId)) return [];
  const rows = await sql<BetDbRow[]>`
    SELECT b.player_id, b.command_id, b.kind, b.pick, b.amount, b.client_seed,
           floor(extract(epoch FROM b.at) * 1000)::bigint AS at_ms
    FROM table_bets b
    LEFT JOIN journal j ON j.player_id = b.player_id AND j.command_id = b.command_id
    WHERE b.round_id = ${roundId}
    ORDER BY j.id NULLS LAST, b.at, b.player_id, b.command_id`;
  return rows.map((row) => ({
    playerId: row.player_id,
    commandId: row.command_id,
    kind: row.kind,
    pick: safeIntegerOrNull(row.pick, "pick"),
    amount: safeInteger(row.amount, "amount"),
    clientSeed: row.client_seed,
    at: safeInteger(row.at_ms, "at"),
  }));
}

export async function unfinishedTableRounds(
  sql: Connection,
  table: string,
): Promise<TableRoundRecord[]> {
  const rows = await sql<RoundDbRow[]>`
    SELECT ${roundColumns(sql)} FROM table_rounds
    WHERE table_id = ${table} AND NOT paid
    ORDER BY opened_at_ms, round_id`;
  return rows.map(roundOf);
}

/** Unpaid rounds by `table_rounds_unpaid`, the player's bets in each by `table_bets_round_player`. */
export async function pendingTableBets(
  sql: Connection,
  playerId: string,
): Promise<PendingTableBet[]> {
  if (!isStorableText(playerId)) return [];
  const rows = await sql<
    {
      table_id: string;
      round_id: string;
      kind: string;
      pick: number | null;
      amount: string;
      client_seed: string | null;
    }[]
  >`
    SELECT r.table_id, r.round_id, b.kind, b.pick, b.amount, b.client_seed
    FROM table_rounds r
    JOIN table_bets b ON b.round_id = r.round_id AND b.player_id = ${playerId}
    WHERE NOT r.paid
      AND NOT EXISTS (SELECT 1 FROM journal j
                      WHERE j.player_id = ${playerId}
                        AND j.command_id = ${tableSettlementCommandId("")} || r.round_id)
    ORDER BY r.opened_at_ms, r.round_id, b.command_id`;
  return rows.map((row) => ({
    table: row.table_id,
    roundId: row.round_id,
    kind: row.kind,
    pick: safeIntegerOrNull(row.pick, "pick"),
    amount: safeInteger(row.amount, "amount"),
    clientSeed: row.client_seed,
  }));
}

export async function voidedTableRoundCount(sql: Connection, table: string): Promise<number> {
  const [row] = await sql<{ voided: string }[]>`
    SELECT count(*) AS voided FROM table_rounds WHERE table_id = ${table} AND status = 'voided'`;
  return safeInteger(row?.voided ?? "0", "voided rounds");
}

export async function tableSeats(sql: Connection, table: string): Promise<string[]> {
  const rows = await sql<{ player_id: string }[]>`
    SELECT player_id FROM table_seats WHERE table_id = ${table} ORDER BY player_id`;
  return rows.map((row) => row.player_id);
}
