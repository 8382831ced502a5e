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
 * after its commit, so a read issued after an awaited write always sees it. Lookups are index
 * seeks over a handful of rows: cheap enough not to need the worker.
 */

/** Rows one page of history or replay returns at most; callers page with cursors. */
export const readRowsMax = 10_000;

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
    this.#command = db.prepare<StoredCommand, [string, string]>(
      `SELECT request_hash AS requestHash, reply, seq FROM journal
       WHERE player_id = ? AND command_id = ?`,
    );
    this.#events = db.prepare<SequencedEvent, [string, number, number]>(
      `SELECT seq, COALESCE(event, reply) AS event FROM journal
       WHERE player_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
    );
    // The cursor orders a player's postings: seq, then the posting's place in its write.
    this.#history = db.prepare<HistoryRow, [string, number, string, number, number]>(
      `SELECT j.command_id AS id, p.kind AS kind, p.amount AS amount,
              p.balance_after AS balanceAfter, j.at AS at,
              j.seq * ${postingsPerWriteMax} + p.n AS cursor
       FROM journal j JOIN postings p ON p.journal_id = j.id
       WHERE j.player_id = ?1 AND j.seq <= ?2 AND p.account = ?3
         AND j.seq * ${postingsPerWriteMax} + p.n < ?4
       ORDER BY j.seq DESC, p.n DESC
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

  eventsAfter(playerId: string, afterSeq: number, limit: number): SequencedEvent[] {
    assertLimit(limit);
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) {
      throw new RangeError(`afterSeq ${afterSeq} is not an integer >= 0`);
    }
    return this.#events.all(playerId, afterSeq, limit);
  }

  /** Newest first; `before` pages strictly older than the entry that carried that cursor. */
  history(playerId: string, limit: number, before?: number): HistoryEntry[] {
    assertLimit(limit);
    const cursorBefore = before ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(cursorBefore) || cursorBefore < 0) {
      throw new RangeError(`history cursor ${before} is not an integer >= 0`);
    }
    const seqMax = Math.floor(cursorBefore / postingsPerWriteMax);
    const rows = this.#history.all(playerId, seqMax, `player:${playerId}`, cursorBefore, limit);
    // A table settlement is stored under `~round:<roundId>` and shown as `round:<roundId>`.
    for (const row of rows) row.id = historyIdOf(row.id);
    return rows;
  }

  findRound(roundId: string): RoundView | undefined {
    return this.#round.get(roundId) ?? undefined;
  }
}
