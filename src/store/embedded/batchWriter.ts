import type { Database, Statement } from "bun:sqlite";
import type { PlayerLimits, Posting, WalletWrite, WriteOutcome } from "../ledger.ts";
import { type DayLoss, dayLossAfter, limitRefusal, validateLimits } from "../limits.ts";
import { requiredRoundStatus, type TableRoundLink, type TableRoundStatus } from "../tableRounds.ts";
import { balancesAfter, InvalidWriteError, validateWrite } from "../validateWrite.ts";
import { CommandIndex, type CommandIndexLimits, commandIndexDefaults } from "./commandIndex.ts";
import { type CachedPlayer, PlayerCache } from "./playerCache.ts";

/**
 * Applies a batch of writes in ONE transaction, in the order given: a write sees every earlier
 * write of its batch. A refused write (an outcome other than committed, or a programmer error)
 * stores nothing and never fails its neighbours; only a failure of the transaction itself (I/O,
 * full disk, lock timeout) fails the batch as a whole.
 *
 * Why a refused write stores nothing without a savepoint per write: every check (shape,
 * idempotency, table round, fencing, limits, funds) runs before the write's first row is
 * inserted, so a refusal never starts changing anything. Only an unexpected failure part-way
 * through a write's inserts (a constraint the checks do not foresee, e.g. a round id used twice)
 * could leave rows behind: then the whole transaction is rolled back and the batch applied again
 * with a savepoint around each write, which stores everything but that write. The first pass is
 * the common, cheap one.
 */

/** Per write: its outcome, or why it was refused as a programmer error (nothing of it stored). */
export type WriteResult = { outcome: WriteOutcome } | { error: string };

export interface BatchWriter {
  /** Commits the batch; throws when the transaction fails, and then nothing of it is committed. */
  commit(writes: readonly WalletWrite[], atMs: number): WriteResult[];
  /** Stores a player's limits in a transaction of their own; every later write sees them. */
  setLimits(playerId: string, limits: PlayerLimits): PlayerLimits;
  /**
   * Between transactions: reads up to `rowsMax` more command ids into the filter that spares new
   * ids a lookup (commandIndex.ts); true once all are in.
   */
  fillCommandFilter(rowsMax: number): boolean;
}

/**
 * What a write needs of its player: (balance, seq), the rowid of its latest journal row (the next
 * row's `prev_id`; null before the first), the day's running loss, the limits.
 */
interface WriterPlayer extends CachedPlayer, DayLoss {
  lastId: number | null;
  limits: PlayerLimits;
}

interface PlayerRow extends CachedPlayer, DayLoss {
  lastId: number | null;
  selfExcludedUntil: number | null;
  lossLimitPerDay: number | null;
}

/** Postings inserted by one multi-row statement at most; a spin has four. */
const postingRowsPerInsertMax = 4;

/** Players whose state (balance, seq, latest journal row, ...) the writer keeps in memory at most. */
export const playerCacheEntriesMax = 100_000;

interface CommandRow {
  requestHash: string;
  reply: string;
}

type Binding = string | number | null;

function postingInsertSql(rows: number): string {
  const values = Array.from({ length: rows }, () => "(?, ?, ?, ?, ?, ?)").join(", ");
  return `INSERT INTO postings (journal_id, n, account, kind, amount, balance_after) VALUES ${values}`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A write failed after it had inserted rows, in a pass without savepoints. */
class PartialWriteError extends Error {
  override readonly name = "PartialWriteError";
}

class SqliteBatchWriter implements BatchWriter {
  readonly #db: Database;
  readonly #cache = new PlayerCache<WriterPlayer>(playerCacheEntriesMax);
  readonly #commands: CommandIndex;
  readonly #statements;
  /** Index = rows per statement (1..postingRowsPerInsertMax). */
  readonly #insertPostings: Statement<never, Binding[]>[] = [];
  /** Set when the write being applied has started inserting rows. */
  #changing = false;

  constructor(db: Database, commandIndexLimits: CommandIndexLimits) {
    this.#db = db;
    this.#commands = new CommandIndex(db, commandIndexLimits);
    this.#statements = {
      begin: db.prepare("BEGIN IMMEDIATE"),
      commit: db.prepare("COMMIT"),
      rollback: db.prepare("ROLLBACK"),
      savepoint: db.prepare("SAVEPOINT write"),
      release: db.prepare("RELEASE write"),
      rollbackTo: db.prepare("ROLLBACK TO write"),
      selectCommand: db.prepare<CommandRow, [number, string, string]>(
        `SELECT request_hash AS requestHash, reply FROM journal
         WHERE id = ? AND player_id = ? AND command_id = ?`,
      ),
      selectPlayer: db.prepare<PlayerRow, [string, string]>(
        `SELECT coalesce(p.balance, 0) AS balance, coalesce(p.seq, 0) AS seq,
                coalesce(p.loss_day, 0) AS lossDay, coalesce(p.day_loss, 0) AS dayLoss,
                p.last_id AS lastId, l.self_excluded_until AS selfExcludedUntil, l.loss_limit_per_day AS lossLimitPerDay
         FROM (SELECT ? AS id) k
         LEFT JOIN players p ON p.player_id = k.id
         LEFT JOIN player_limits l ON l.player_id = ?`,
      ),
      upsertLimits: db.prepare<never, [string, number | null, number | null]>(
        `INSERT INTO player_limits (player_id, self_excluded_until, loss_limit_per_day) VALUES (?, ?, ?)
         ON CONFLICT (player_id) DO UPDATE SET self_excluded_until = excluded.self_excluded_until,
           loss_limit_per_day = excluded.loss_limit_per_day`,
      ),
      // The command id was looked up first (#stored); for an entry without a slot round, the
      // unique journal_by_command_unrounded would also refuse a second one.
      insertJournal: db.prepare<never, Binding[]>(
        `INSERT INTO journal (player_id, seq, command_id, request_hash, reply, event, at, round_id, game, round_detail, prev_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      selectRound: db.prepare<{ status: TableRoundStatus; table: string }, [string]>(
        'SELECT status, table_id AS "table" FROM table_rounds WHERE round_id = ?',
      ),
      insertTableBet: db.prepare<never, Binding[]>(
        `INSERT INTO table_bets (player_id, command_id, round_id, kind, pick, amount, client_seed, at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      // Applies only over the row the cache assumed (seq one below the write's): changes = 0
      // means the cache was stale (see #storePlayer).
      upsertPlayer: db.prepare<never, [string, number, number, number, number, number]>(
        `INSERT INTO players (player_id, balance, seq, loss_day, day_loss, last_id) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (player_id) DO UPDATE SET balance = excluded.balance, seq = excluded.seq,
           loss_day = excluded.loss_day, day_loss = excluded.day_loss, last_id = excluded.last_id
         WHERE players.seq = excluded.seq - 1`,
      ),
    };
    for (let rows = 1; rows <= postingRowsPerInsertMax; rows++) {
      this.#insertPostings[rows] = db.prepare<never, Binding[]>(postingInsertSql(rows));
    }
  }

  commit(writes: readonly WalletWrite[], atMs: number): WriteResult[] {
    const { begin, commit, rollback } = this.#statements;
    begin.run();
    try {
      let results: WriteResult[];
      try {
        results = writes.map((write) => this.#applyUnguarded(write, atMs));
      } catch (error) {
        if (!(error instanceof PartialWriteError)) throw error;
        rollback.run();
        this.#cache.clear();
        this.#commands.rolledBack();
        begin.run();
        results = writes.map((write) => this.#applyInSavepoint(write, atMs));
      }
      this.#commands.mergeDue();
      commit.run();
      this.#commands.committed();
      return results;
    } catch (error) {
      // Whatever the cache and the command index learnt in this transaction is gone with it.
      this.#cache.clear();
      this.#commands.rolledBack();
      if (this.#db.inTransaction) {
        try {
          rollback.run();
        } catch {
          // The transaction is gone either way; the original error says why.
        }
      }
      throw error;
    }
  }

  fillCommandFilter(rowsMax: number): boolean {
    return this.#commands.fillFilter(rowsMax);
  }

  setLimits(playerId: string, limits: PlayerLimits): PlayerLimits {
    validateLimits(limits);
    const { begin, commit, rollback, upsertLimits } = this.#statements;
    begin.run();
    try {
      upsertLimits.run(playerId, limits.selfExcludedUntil, limits.lossLimitPerDay);
      commit.run();
    } catch (error) {
      if (this.#db.inTransaction) rollback.run();
      throw error;
    } finally {
      // Read again by the next write of this player, from what is committed.
      this.#cache.delete(playerId);
    }
    return { selfExcludedUntil: limits.selfExcludedUntil, lossLimitPerDay: limits.lossLimitPerDay };
  }

  /** A refusal before any insert is this write's result; a failure after one redoes the batch. */
  #applyUnguarded(write: WalletWrite, atMs: number): WriteResult {
    this.#changing = false;
    try {
      return { outcome: this.#apply(write, atMs) };
    } catch (error) {
      // SQLite rolls the whole transaction back on some errors (I/O, full disk): then the
      // batch cannot go on, and the caller must learn that nothing of it committed.
      if (!this.#db.inTransaction) throw error;
      if (this.#changing) throw new PartialWriteError(errorText(error), { cause: error });
      return { error: errorText(error) };
    }
  }

  #applyInSavepoint(write: WalletWrite, atMs: number): WriteResult {
    const { savepoint, release, rollbackTo } = this.#statements;
    const commandsMark = this.#commands.mark();
    savepoint.run();
    try {
      const outcome = this.#apply(write, atMs);
      release.run();
      return { outcome };
    } catch (error) {
      if (!this.#db.inTransaction) throw error;
      rollbackTo.run();
      release.run();
      // The write may have cached its new state, or its command, before failing.
      this.#cache.clear();
      this.#commands.undo(commandsMark);
      return { error: errorText(error) };
    }
  }

  /**
   * The checks and inserts of one write, in this order: shape, idempotency, table round,
   * fencing, limits, funds.
   *
   * Fencing is the guard of seq uniqueness: no index on (player_id, seq) exists (schema.ts). It
   * runs against the cache, which is exact because this is the only writer (the writer lock,
   * writerLock.ts). Should the cache still be stale, the players upsert refuses to move the row
   * from any seq but the one fencing assumed (#storePlayer), so a stale cache costs a redo, never
   * money or a seq; the audit checks seq continuity and the chain (invariant 4).
   */
  #apply(write: WalletWrite, atMs: number): WriteOutcome {
    validateWrite(write);
    // A retry gets its stored reply whatever has changed since: a bet accepted before its round
    // closed gets its reply, not `round_closed`; a spin its reply, not `stale_seq` or refused funds.
    const stored = this.#stored(write);
    if (stored !== undefined) return stored;
    const link = write.tableRound;
    if (link !== undefined) {
      const refused = this.#roundRefusal(link);
      if (refused !== undefined) return refused;
    }
    const player = this.#player(write.playerId);
    const fenced = write.seq === player.seq + 1;
    const limited = fenced ? limitRefusal(write, player.limits, player, atMs) : undefined;
    const after =
      fenced && limited === undefined ? balancesAfter(write, player.balance) : undefined;
    if (after === undefined) {
      if (!fenced) return { status: "stale_seq", currentSeq: player.seq };
      return limited ?? { status: "insufficient_funds" };
    }
    this.#changing = true;
    const round = write.round;
    const inserted = this.#statements.insertJournal.run(
      write.playerId,
      write.seq,
      write.commandId,
      write.requestHash,
      write.reply,
      write.event === write.reply ? null : write.event,
      atMs,
      round?.roundId ?? null,
      round?.game ?? null,
      round?.detail ?? null,
      player.lastId,
    );
    const journalId = Number(inserted.lastInsertRowid);
    this.#commands.added(write.playerId, write.commandId, journalId);
    this.#storePostings(journalId, write.postings, after.perPosting);
    if (link?.kind === "bet") {
      const { bet } = link;
      this.#statements.insertTableBet.run(
        write.playerId,
        write.commandId,
        link.roundId,
        bet.kind,
        bet.pick,
        bet.amount,
        bet.clientSeed,
        atMs,
      );
    }
    const loss = dayLossAfter(write, player, atMs);
    this.#storePlayer(write.playerId, {
      balance: after.balance,
      seq: write.seq,
      lastId: journalId,
      lossDay: loss.lossDay,
      dayLoss: loss.dayLoss,
      limits: player.limits,
    });
    return { status: "committed", balance: after.balance };
  }

  /**
   * Moves the player's row from seq - 1 to `player`, then caches it. An existing row at another
   * seq is left alone and the write fails part-way (its journal row is in): the batch is then
   * redone with the cache cleared, and fencing against the real row refuses the write as stale.
   */
  #storePlayer(playerId: string, player: WriterPlayer & { lastId: number }): void {
    const { changes } = this.#statements.upsertPlayer.run(
      playerId,
      player.balance,
      player.seq,
      player.lossDay,
      player.dayLoss,
      player.lastId,
    );
    if (changes === 0) {
      throw new Error(
        `player ${playerId}'s row is not at seq ${player.seq - 1} as the writer's cache said`,
      );
    }
    this.#cache.set(playerId, player);
  }

  #player(playerId: string): WriterPlayer {
    const cached = this.#cache.get(playerId);
    if (cached !== undefined) return cached;
    const row = this.#statements.selectPlayer.get(playerId, playerId);
    const player: WriterPlayer = {
      balance: row?.balance ?? 0,
      seq: row?.seq ?? 0,
      lastId: row?.lastId ?? null,
      lossDay: row?.lossDay ?? 0,
      dayLoss: row?.dayLoss ?? 0,
      limits: {
        selfExcludedUntil: row?.selfExcludedUntil ?? null,
        lossLimitPerDay: row?.lossLimitPerDay ?? null,
      },
    };
    this.#cache.set(playerId, player);
    return player;
  }

  /** `round_closed` unless the write's round is in the status its kind needs. */
  #roundRefusal(link: TableRoundLink): WriteOutcome | undefined {
    const round = this.#statements.selectRound.get(link.roundId);
    if (round !== null && round.table !== link.table) {
      throw new InvalidWriteError(
        `round ${link.roundId} is of table ${round.table}, not ${link.table}`,
      );
    }
    const status = round?.status ?? null;
    if (status === requiredRoundStatus[link.kind]) return undefined;
    return { status: "round_closed", roundStatus: status };
  }

  /** The outcome of a command id already stored: its reply, or a conflict of parameters. */
  #stored(write: WalletWrite): WriteOutcome | undefined {
    const journalId = this.#commands.find(write.playerId, write.commandId);
    if (journalId === undefined) return undefined;
    const existing = this.#statements.selectCommand.get(journalId, write.playerId, write.commandId);
    if (existing === null) {
      throw new Error(
        `command ${write.commandId} is indexed at journal row ${journalId}, not its own`,
      );
    }
    return existing.requestHash === write.requestHash
      ? { status: "duplicate", reply: existing.reply }
      : { status: "conflict" };
  }

  #storePostings(journalId: number, postings: readonly Posting[], after: (number | null)[]): void {
    for (let start = 0; start < postings.length; start += postingRowsPerInsertMax) {
      const rows = Math.min(postingRowsPerInsertMax, postings.length - start);
      const bindings: Binding[] = [];
      for (let n = start; n < start + rows; n++) {
        const posting = postings[n] as Posting;
        const balanceAfter = after[n] ?? null;
        // Only the player's own postings carry a kind and a running balance.
        const kind = balanceAfter === null ? null : (posting.kind ?? null);
        bindings.push(journalId, n, posting.account, kind, posting.amount, balanceAfter);
      }
      (this.#insertPostings[rows] as Statement<never, Binding[]>).run(...bindings);
    }
  }
}

export function createBatchWriter(
  db: Database,
  commandIndexLimits: CommandIndexLimits = commandIndexDefaults,
): BatchWriter {
  return new SqliteBatchWriter(db, commandIndexLimits);
}
