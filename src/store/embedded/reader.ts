import type { Database } from "bun:sqlite";
import type {
  EntryKind,
  HistoryEntry,
  PlayerLimits,
  PlayerState,
  RoundView,
  SequencedEvent,
  StoredCommand,
} from "../ledger.ts";
import { historyIdOf } from "../tableRounds.ts";
import { postingsPerWriteMax } from "./options.ts";

/**
 * Reads on the main thread's read-only connection. Each statement reads the latest commit (WAL
 * readers see every transaction committed before they start), and a write's promise settles only
 * after its commit, so a read issued after an awaited write always sees it. Lookups are index or
 * rowid seeks over a handful of rows: cheap enough not to need the worker.
 *
 * A player's journal rows are read through their chain (schema.ts): `players.last_id`, then each
 * row's `prev_id`, newest first, one rowid seek per row. The recursive queries below run as
 * co-routines, so a LIMIT stops the walk as soon as enough rows came out.
 */

/** Rows one page of history or replay returns at most; callers page with cursors. */
export const readRowsMax = 10_000;

/**
 * `n` of the marker row a history walk emits per journal row: above every posting index, so the
 * walk's queue (ordered by journal id, then n, descending) yields a row's postings after its
 * marker and before the next older row's marker.
 */
const journalMarkerN = postingsPerWriteMax;

interface HistoryRow {
  id: string;
  kind: EntryKind;
  amount: number;
  balanceAfter: number;
  at: number;
  cursor: number;
}

function assertLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > readRowsMax) {
    throw new RangeError(`limit ${limit} is not an integer in 1..${readRowsMax}`);
  }
}

export class LedgerReader {
  readonly #limits;
  readonly #player;
  readonly #command;
  readonly #events;
  readonly #history;
  readonly #round;

  constructor(db: Database) {
    this.#limits = db.prepare<PlayerLimits, [string]>(
      `SELECT self_excluded_until AS selfExcludedUntil, loss_limit_per_day AS lossLimitPerDay
       FROM player_limits WHERE player_id = ?`,
    );
    this.#player = db.prepare<{ balance: number; seq: number }, [string]>(
      "SELECT balance, seq FROM players WHERE player_id = ?",
    );
    // A command is in command_index, or among the player's rows above indexed_through, which
    // the writer has not indexed yet: those are found by walking the player's chain back from
    // the latest row (commandIndex.ts bounds how many there are). One statement, one snapshot.
    this.#command = db.prepare<StoredCommand, [string, string]>(
      `WITH RECURSIVE unindexed(id) AS (
         SELECT last_id FROM players WHERE player_id = ?1 AND last_id > indexed_through
         UNION ALL
         SELECT j.prev_id FROM unindexed u JOIN journal j ON j.id = u.id
         WHERE j.prev_id > (SELECT indexed_through FROM players WHERE player_id = ?1))
       SELECT request_hash AS requestHash, reply, seq FROM journal
       WHERE id IN (SELECT journal_id FROM command_index WHERE player_id = ?1 AND command_id = ?2
                    UNION ALL SELECT id FROM unindexed)
         AND player_id = ?1 AND command_id = ?2`,
    );
    // Walks back from the latest row while seqs are above afterSeq + 1 (that row is the last one
    // needed); only the rows up to afterSeq + limit carry their text out, and those few are
    // sorted. Each step checks the row is the player's and the seq one below, so a broken chain
    // (the audit's invariant 4) ends the walk instead of reading another player's events.
    // Measured, not obvious: the latest row is found by a scalar subquery (3x faster than a join
    // of players), and the unary + on the step's player check (a plain filter, kept away from
    // the (player, command id) index of version 5) made a 10-event replay 4x faster; the plans look the same.
    this.#events = db.prepare<SequencedEvent, [string, number, number]>(
      `WITH RECURSIVE chain(prev_id, seq, event) AS (
         SELECT j.prev_id, j.seq, CASE WHEN j.seq <= ?2 + ?3 THEN COALESCE(j.event, j.reply) END
         FROM journal j
         WHERE j.id = (SELECT last_id FROM players WHERE player_id = ?1)
           AND j.player_id = ?1 AND j.seq > ?2
         UNION ALL
         SELECT j.prev_id, j.seq, CASE WHEN j.seq <= ?2 + ?3 THEN COALESCE(j.event, j.reply) END
         FROM chain c JOIN journal j ON j.id = c.prev_id
         WHERE c.seq > ?2 + 1 AND +j.player_id = ?1 AND j.seq = c.seq - 1)
       SELECT seq, event FROM chain WHERE seq <= ?2 + ?3 ORDER BY seq`,
    );
    // The cursor orders an account's postings: journal id (commit order), then the posting's
    // place in its write. The walk starts at the row the cursor names (or the latest row, when
    // that is older) and emits, per journal row, a marker (n = journalMarkerN) that steps to the
    // previous row and the row's postings to the account; its queue, ordered by (journal id, n)
    // descending, puts them out newest first without a sort, so LIMIT ends the walk early.
    this.#history = db.prepare<HistoryRow, [string, number, string, number, number]>(
      `WITH RECURSIVE walk(journal_id, n, prev_id, command_id, at, kind, amount, balance_after) AS (
         SELECT j.id, ${journalMarkerN}, j.prev_id, j.command_id, j.at, NULL, NULL, NULL
         FROM journal j
         WHERE j.id = (SELECT min(last_id, ?2) FROM players WHERE player_id = ?1)
           AND j.player_id = ?1
         UNION ALL
         SELECT w.journal_id, p.n, NULL, w.command_id, w.at, p.kind, p.amount, p.balance_after
         FROM walk w JOIN postings p ON p.journal_id = w.journal_id AND p.account = ?3
         WHERE w.n = ${journalMarkerN}
         UNION ALL
         SELECT j.id, ${journalMarkerN}, j.prev_id, j.command_id, j.at, NULL, NULL, NULL
         FROM walk w JOIN journal j ON j.id = w.prev_id
         WHERE w.n = ${journalMarkerN} AND j.player_id = ?1
         ORDER BY 1 DESC, 2 DESC)
       SELECT command_id AS id, kind, amount, balance_after AS balanceAfter, at,
              journal_id * ${postingsPerWriteMax} + n AS cursor
       FROM walk
       WHERE n < ${journalMarkerN} AND journal_id * ${postingsPerWriteMax} + n < ?4
       LIMIT ?5`,
    );
    this.#round = db.prepare<RoundView, [string]>(
      `SELECT round_id AS roundId, player_id AS playerId, game, round_detail AS detail, at
       FROM journal WHERE round_id = ?`,
    );
  }

  getLimits(playerId: string): PlayerLimits {
    const row = this.#limits.get(playerId);
    return {
      selfExcludedUntil: row?.selfExcludedUntil ?? null,
      lossLimitPerDay: row?.lossLimitPerDay ?? null,
    };
  }

  loadPlayer(playerId: string): PlayerState {
    const row = this.#player.get(playerId);
    if (row === null) return { playerId, balance: 0, seq: 0, exists: false };
    return { playerId, balance: row.balance, seq: row.seq, exists: true };
  }

  findCommand(playerId: string, commandId: string): StoredCommand | undefined {
    return this.#command.get(playerId, commandId) ?? undefined;
  }

  /**
   * Events with seq > afterSeq, ascending, at most `limit` (the first ones after afterSeq). Costs
   * one rowid seek per event from the latest down to afterSeq + 1, however small `limit` is: the
   * gateway bounds that distance by REPLAY_EVENTS_MAX (it replays from at most that far back).
   */
  eventsAfter(playerId: string, afterSeq: number, limit: number): SequencedEvent[] {
    assertLimit(limit);
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
      throw new RangeError(`afterSeq ${afterSeq} is not an integer >= 0`);
    }
    return this.#events.all(playerId, afterSeq, limit);
  }

  /**
   * Newest first; `before` pages strictly older than the entry that carried that cursor. A
   * cursor is journal id * postingsPerWriteMax + posting index. The walk starts at the journal
   * row it names, or at the player's latest row when that is older. A cursor naming a row of
   * another player below the latest (never one this method returned; e.g. a seq-based cursor
   * from before schema version 4) gives an empty page: finding the player's row just below it
   * would take a walk from the latest row, and reads must stay seeks. Costs two seeks (journal
   * row, its postings) per journal row walked: about `limit` rows, more when some of them hold
   * no posting to the player (a lost table bet's settlement).
   */
  history(playerId: string, limit: number, before?: number): HistoryEntry[] {
    assertLimit(limit);
    const cursorBefore = before ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(cursorBefore) || cursorBefore < 0) {
      throw new RangeError(`history cursor ${before} is not an integer >= 0`);
    }
    const journalIdMax = Math.floor(cursorBefore / postingsPerWriteMax);
    const rows = this.#history.all(
      playerId,
      journalIdMax,
      `player:${playerId}`,
      cursorBefore,
      limit,
    );
    // A table settlement is stored under `~round:<roundId>` and shown as `round:<roundId>`.
    for (const row of rows) row.id = historyIdOf(row.id);
    return rows;
  }

  findRound(roundId: string): RoundView | undefined {
    return this.#round.get(roundId) ?? undefined;
  }
}
