import type { Database, Statement } from "bun:sqlite";
import type { Posting, WalletWrite, WriteOutcome } from "../ledger.ts";
import { InvalidWriteError, validateWrite } from "./validateWrite.ts";

/**
 * Applies a batch of writes in ONE transaction, each inside its own savepoint, in the order
 * given: a write sees every earlier write of its batch. A refused write (an outcome other than
 * committed, or a programmer error) stores nothing and never fails its neighbours; only a failure
 * of the transaction itself (I/O, full disk, lock timeout) fails the batch as a whole.
 */

/** Per write: its outcome, or why it was refused as a programmer error (nothing of it stored). */
export type WriteResult = { outcome: WriteOutcome } | { error: string };

export interface BatchWriter {
  /** Commits the batch; throws when the transaction fails, and then nothing of it is committed. */
  commit(writes: readonly WalletWrite[], atMs: number): WriteResult[];
}

/** Postings inserted by one multi-row statement at most; a spin has four. */
const postingRowsPerInsertMax = 4;

interface CommandRow {
  requestHash: string;
  reply: string;
}

interface PlayerRow {
  balance: number;
  seq: number;
}

type Binding = string | number | null;

function postingInsertSql(rows: number): string {
  const values = Array.from({ length: rows }, () => "(?, ?, ?, ?, ?, ?)").join(", ");
  return `INSERT INTO postings (journal_id, n, account, kind, amount, balance_after) VALUES ${values}`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class SqliteBatchWriter implements BatchWriter {
  readonly #db: Database;
  readonly #begin;
  readonly #commit;
  readonly #rollback;
  readonly #savepoint;
  readonly #release;
  readonly #rollbackTo;
  readonly #selectCommand;
  readonly #selectPlayer;
  readonly #insertJournal;
  readonly #upsertPlayer;
  /** Index = rows per statement (1..postingRowsPerInsertMax). */
  readonly #insertPostings: Statement<never, Binding[]>[] = [];

  constructor(db: Database) {
    this.#db = db;
    this.#begin = db.prepare("BEGIN IMMEDIATE");
    this.#commit = db.prepare("COMMIT");
    this.#rollback = db.prepare("ROLLBACK");
    this.#savepoint = db.prepare("SAVEPOINT write");
    this.#release = db.prepare("RELEASE write");
    this.#rollbackTo = db.prepare("ROLLBACK TO write");
    this.#selectCommand = db.prepare<CommandRow, [string, string]>(
      "SELECT request_hash AS requestHash, reply FROM journal WHERE player_id = ? AND command_id = ?",
    );
    this.#selectPlayer = db.prepare<PlayerRow, [string]>(
      "SELECT balance, seq FROM players WHERE player_id = ?",
    );
    this.#insertJournal = db.prepare<never, Binding[]>(
      `INSERT INTO journal (player_id, seq, command_id, request_hash, reply, event, at, round_id, game, round_detail)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#upsertPlayer = db.prepare<never, [string, number, number]>(
      `INSERT INTO players (player_id, balance, seq) VALUES (?, ?, ?)
       ON CONFLICT (player_id) DO UPDATE SET balance = excluded.balance, seq = excluded.seq`,
    );
    for (let rows = 1; rows <= postingRowsPerInsertMax; rows++) {
      this.#insertPostings[rows] = db.prepare<never, Binding[]>(postingInsertSql(rows));
    }
  }

  commit(writes: readonly WalletWrite[], atMs: number): WriteResult[] {
    this.#begin.run();
    try {
      const results = writes.map((write) => this.#applyInSavepoint(write, atMs));
      this.#commit.run();
      return results;
    } catch (error) {
      if (this.#db.inTransaction) {
        try {
          this.#rollback.run();
        } catch {
          // The transaction is gone either way; the original error says why.
        }
      }
      throw error;
    }
  }

  #applyInSavepoint(write: WalletWrite, atMs: number): WriteResult {
    this.#savepoint.run();
    try {
      const outcome = this.#apply(write, atMs);
      this.#release.run();
      return { outcome };
    } catch (error) {
      // SQLite rolls the whole transaction back on some errors (I/O, full disk): then the
      // batch cannot go on, and the caller must learn that nothing of it committed.
      if (!this.#db.inTransaction) throw error;
      this.#rollbackTo.run();
      this.#release.run();
      return { error: errorText(error) };
    }
  }

  /** The checks and inserts of one write, in this order: shape, idempotency, fencing, funds. */
  #apply(write: WalletWrite, atMs: number): WriteOutcome {
    validateWrite(write);
    const existing = this.#selectCommand.get(write.playerId, write.commandId);
    if (existing !== null) {
      return existing.requestHash === write.requestHash
        ? { status: "duplicate", reply: existing.reply }
        : { status: "conflict" };
    }
    const player = this.#selectPlayer.get(write.playerId) ?? { balance: 0, seq: 0 };
    if (write.seq !== player.seq + 1) return { status: "stale_seq", currentSeq: player.seq };
    const after = balancesAfter(write, player.balance);
    if (after === undefined) return { status: "insufficient_funds" };
    const round = write.round;
    const inserted = this.#insertJournal.run(
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
    );
    this.#storePostings(Number(inserted.lastInsertRowid), write.postings, after.perPosting);
    this.#upsertPlayer.run(write.playerId, after.balance, write.seq);
    return { status: "committed", balance: after.balance };
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

/**
 * Walks the postings in order from `balance`: the player's balance after each of its postings
 * (null for other accounts), or undefined when any step would take it below zero.
 */
function balancesAfter(
  write: WalletWrite,
  balance: number,
): { perPosting: (number | null)[]; balance: number } | undefined {
  const playerAccount = `player:${write.playerId}`;
  const perPosting: (number | null)[] = [];
  let running = balance;
  for (const posting of write.postings) {
    if (posting.account !== playerAccount) {
      perPosting.push(null);
      continue;
    }
    running += posting.amount;
    if (!Number.isSafeInteger(running))
      throw new InvalidWriteError("balance overflows a safe integer");
    if (running < 0) return undefined;
    perPosting.push(running);
  }
  return { perPosting, balance: running };
}

export function createBatchWriter(db: Database): BatchWriter {
  return new SqliteBatchWriter(db);
}
