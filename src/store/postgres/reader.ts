import { postingsPerWriteMax } from "../embedded/options.ts";
import { readRowsMax } from "../embedded/reader.ts";
import type {
  EntryKind,
  HistoryEntry,
  PlayerState,
  RoundView,
  SequencedEvent,
  StoredCommand,
} from "../ledger.ts";
import { historyIdOf } from "../tableRounds.ts";
import { safeInteger } from "./integers.ts";
import type { Connection } from "./pool.ts";
import { isStorableText } from "./text.ts";

/**
 * Reads, each one index-driven statement on a pooled connection, with the embedded backend's
 * results for the same writes: the same history cursors (seq * postingsPerWriteMax + the
 * posting's place in its write), the same limits. A write's promise settles after its COMMIT, so
 * a read issued after an awaited write sees it. Times are the journal's `at` in epoch
 * milliseconds, floored.
 */

function assertLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > readRowsMax) {
    throw new RangeError(`limit ${limit} is not an integer in 1..${readRowsMax}`);
  }
}

export async function loadPlayer(sql: Connection, playerId: string): Promise<PlayerState> {
  const [row] = await sql<{ balance: string; seq: string }[]>`
    SELECT balance, seq FROM players WHERE player_id = ${playerId}`;
  if (row === undefined) return { playerId, balance: 0, seq: 0, exists: false };
  return {
    playerId,
    balance: safeInteger(row.balance, `balance of ${playerId}`),
    seq: safeInteger(row.seq, `seq of ${playerId}`),
    exists: true,
  };
}

export async function findCommand(
  sql: Connection,
  playerId: string,
  commandId: string,
): Promise<StoredCommand | undefined> {
  const [row] = await sql<{ request_hash: string; reply: string; seq: string }[]>`
    SELECT request_hash, reply, seq FROM journal
    WHERE player_id = ${playerId} AND command_id = ${commandId}`;
  if (row === undefined) return undefined;
  return { requestHash: row.request_hash, reply: row.reply, seq: safeInteger(row.seq, "seq") };
}

export async function eventsAfter(
  sql: Connection,
  playerId: string,
  afterSeq: number,
  limit: number,
): Promise<SequencedEvent[]> {
  assertLimit(limit);
  if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
    throw new RangeError(`afterSeq ${afterSeq} is not an integer >= 0`);
  }
  const rows = await sql<{ seq: string; event: string }[]>`
    SELECT seq, COALESCE(event, reply) AS event FROM journal
    WHERE player_id = ${playerId} AND seq > ${afterSeq} ORDER BY seq LIMIT ${limit}`;
  return rows.map((row) => ({ seq: safeInteger(row.seq, "seq"), event: row.event }));
}

interface HistoryRow {
  id: string;
  kind: EntryKind;
  amount: string;
  balance_after: string;
  at_ms: string;
  cursor: string;
}

/** Newest first; `before` pages strictly older than the entry that carried that cursor. */
export async function history(
  sql: Connection,
  playerId: string,
  limit: number,
  before?: number,
): Promise<HistoryEntry[]> {
  assertLimit(limit);
  const cursorBefore = before ?? Number.MAX_SAFE_INTEGER;
  if (!Number.isSafeInteger(cursorBefore) || cursorBefore < 0) {
    throw new RangeError(`history cursor ${before} is not an integer >= 0`);
  }
  // The seq bound lets the (player_id, seq) index start at the page; the cursor bound trims
  // the first entry's postings.
  const seqMax = Math.floor(cursorBefore / postingsPerWriteMax);
  const rows = await sql<HistoryRow[]>`
    SELECT j.command_id AS id, p.kind, p.amount, p.balance_after,
           floor(extract(epoch FROM j.at) * 1000)::bigint AS at_ms,
           j.seq * ${postingsPerWriteMax} + p.n AS cursor
    FROM journal j JOIN postings p ON p.journal_id = j.id
    WHERE j.player_id = ${playerId} AND j.seq <= ${seqMax} AND p.account = ${`player:${playerId}`}
      AND j.seq * ${postingsPerWriteMax} + p.n < ${cursorBefore}
    ORDER BY j.seq DESC, p.n DESC
    LIMIT ${limit}`;
  return rows.map((row) => ({
    // A table settlement's stored id `~round:<roundId>` shows as `round:<roundId>`.
    id: historyIdOf(row.id),
    kind: row.kind,
    amount: safeInteger(row.amount, "amount"),
    balanceAfter: safeInteger(row.balance_after, "balance_after"),
    at: safeInteger(row.at_ms, "at"),
    cursor: safeInteger(row.cursor, "cursor"),
  }));
}

export async function findRound(sql: Connection, roundId: string): Promise<RoundView | undefined> {
  if (!isStorableText(roundId)) return undefined;
  const [row] = await sql<
    { round_id: string; player_id: string; game: string; round_detail: string; at_ms: string }[]
  >`
    SELECT j.round_id, j.player_id, j.game, j.round_detail, floor(extract(epoch FROM j.at) * 1000)::bigint AS at_ms
    FROM journal j WHERE j.round_id = ${roundId}`;
  if (row === undefined) return undefined;
  return {
    roundId: row.round_id,
    playerId: row.player_id,
    game: row.game,
    detail: row.round_detail,
    at: safeInteger(row.at_ms, "at"),
  };
}
