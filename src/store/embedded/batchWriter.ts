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

export function createBatchWriter(db: Database): BatchWriter {
  const begin = db.prepare("BEGIN IMMEDIATE");
  const commit = db.prepare("COMMIT");
  const rollback = db.prepare("ROLLBACK");
  const savepoint = db.prepare("SAVEPOINT write");
  const release = db.prepare("RELEASE write");
  const rollbackTo = db.prepare("ROLLBACK TO write");
  const selectCommand = db.prepare<CommandRow, [string, string]>(
    "SELECT request_hash AS requestHash, reply FROM journal WHERE player_id = ? AND command_id = ?",
  );
  const selectPlayer = db.prepare<PlayerRow, [string]>(
    "SELECT balance, seq FROM players WHERE player_id = ?",
  );
  const insertJournal = db.prepare<never, Binding[]>(
    `INSERT INTO journal (player_id, seq, command_id, request_hash, reply, event, at, round_id, game, round_detail)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const upsertPlayer = db.prepare<never, [string, number, number]>(
    `INSERT INTO players (player_id, balance, seq) VALUES (?, ?, ?)
     ON CONFLICT (player_id) DO UPDATE SET balance = excluded.balance, seq = excluded.seq`,
  );
  const insertPostings: Statement<never, Binding[]>[] = [];
  for (let rows = 1; rows <= postingRowsPerInsertMax; rows++) {
    insertPostings[rows] = db.prepare<never, Binding[]>(postingInsertSql(rows));
  }

  function storePostings(
    journalId: number,
    postings: readonly Posting[],
    after: (number | null)[],
  ) {
    for (let start = 0; start < postings.length; start += postingRowsPerInsertMax) {
      const rows = Math.min(postingRowsPerInsertMax, postings.length - start);
      const bindings: Binding[] = [];
      for (let n = start; n < start + rows; n++) {
        const posting = postings[n] as Posting;
        const balanceAfter = after[n] ?? null;
        const kind = balanceAfter === null ? null : (posting.kind ?? null);
        bindings.push(journalId, n, posting.account, kind, posting.amount, balanceAfter);
      }
      (insertPostings[rows] as Statement<never, Binding[]>).run(...bindings);
    }
  }

  /** The checks and inserts of one write; runs inside that write's savepoint. */
  function apply(write: WalletWrite, atMs: number): WriteOutcome {
    validateWrite(write);
    const existing = selectCommand.get(write.playerId, write.commandId);
    if (existing !== null) {
      return existing.requestHash === write.requestHash
        ? { status: "duplicate", reply: existing.reply }
        : { status: "conflict" };
    }
    const player = selectPlayer.get(write.playerId) ?? { balance: 0, seq: 0 };
    if (write.seq !== player.seq + 1) return { status: "stale_seq", currentSeq: player.seq };
    // Walk the postings in order: the balance may not dip below zero at any step.
    const playerAccount = `player:${write.playerId}`;
    const after: (number | null)[] = [];
    let balance = player.balance;
    for (const posting of write.postings) {
      if (posting.account !== playerAccount) {
        after.push(null);
        continue;
      }
      balance += posting.amount;
      if (!Number.isSafeInteger(balance))
        throw new InvalidWriteError("balance overflows a safe integer");
      if (balance < 0) return { status: "insufficient_funds" };
      after.push(balance);
    }
    const round = write.round;
    const inserted = insertJournal.run(
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
    storePostings(Number(inserted.lastInsertRowid), write.postings, after);
    upsertPlayer.run(write.playerId, balance, write.seq);
    return { status: "committed", balance };
  }

  function applyInSavepoint(write: WalletWrite, atMs: number): WriteResult {
    savepoint.run();
    try {
      const outcome = apply(write, atMs);
      release.run();
      return { outcome };
    } catch (error) {
      // SQLite rolls the whole transaction back on some errors (I/O, full disk): then the
      // batch cannot go on, and the caller must learn that nothing of it committed.
      if (!db.inTransaction) throw error;
      rollbackTo.run();
      release.run();
      return { error: error instanceof Error ? error.message : String(error) };
    }
  }

  return {
    commit(writes, atMs) {
      begin.run();
      try {
        const results = writes.map((write) => applyInSavepoint(write, atMs));
        commit.run();
        return results;
      } catch (error) {
        if (db.inTransaction) {
          try {
            rollback.run();
          } catch {
            // The transaction is gone either way; the original error says why.
          }
        }
        throw error;
      }
    },
  };
}
