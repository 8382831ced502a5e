import { Database, SQLiteError } from "bun:sqlite";
import { closeNow } from "./schema.ts";

/**
 * The writer's claim on a ledger file: at most one writer per `ledger.db`, whether the other one
 * is another process on the same data directory (a node still draining while its successor
 * starts) or another ledger in this process. The batch writer's fencing trusts its in-memory
 * copy of the players (playerCache.ts), which is only exact while no one else writes the file.
 *
 * bun:sqlite offers no flock, so the lock is a sidecar SQLite file held by a connection in
 * EXCLUSIVE locking mode: after its first exclusive transaction the connection keeps the file's
 * exclusive lock until it is closed. SQLite refuses that lock to any other connection, in another
 * process (POSIX advisory locks) or in this one (SQLite tracks its own locks per file across
 * threads), and the OS drops it when the holding process dies, so a crash never leaves the
 * directory locked; a writer thread that is terminated loses its connections and the lock with
 * them (writerFaults.test.ts opens the file again after that). Readers and the audit open
 * `ledger.db` itself and never touch this file.
 *
 * The file is left in place on release: unlinking it would let two writers hold "the" lock at
 * once, one on the unlinked file it had just opened, the other on a new file of the same name.
 * Nothing in this process may open and close the lock file other than through SQLite: closing any
 * descriptor of a file drops every POSIX lock the process holds on it.
 */

export function writerLockPath(ledgerPath: string): string {
  return `${ledgerPath}.lock`;
}

export interface WriterLock {
  readonly path: string;
  /** Closes the holding connection, which frees the lock for the next writer. */
  release(): void;
}

/** Another process or ledger writes this file; `code` lets the start-up report name DATA_DIR. */
export class LedgerLockedError extends Error {
  override readonly name = "LedgerLockedError";
  readonly code = "LEDGER_LOCKED";
}

function isBusy(error: unknown): boolean {
  return error instanceof SQLiteError && error.code === "SQLITE_BUSY";
}

/**
 * Takes the writer lock of `ledgerPath` or fails at once, naming the file, when another writer
 * holds it. No waiting: a holder keeps the lock for its whole life, so a wait could only end in
 * the same refusal later.
 */
export function acquireWriterLock(ledgerPath: string): WriterLock {
  const path = writerLockPath(ledgerPath);
  const db = new Database(path, { create: true, readwrite: true });
  try {
    db.run("PRAGMA busy_timeout = 0");
    db.run("PRAGMA locking_mode = EXCLUSIVE");
    // In EXCLUSIVE locking mode the lock this takes outlives the transaction.
    db.run("BEGIN EXCLUSIVE");
    db.run("COMMIT");
  } catch (error) {
    closeNow(db);
    if (!isBusy(error)) throw error;
    throw new LedgerLockedError(
      `${ledgerPath} is already open for writing by another process or ledger (lock file ${path} is held)`,
      { cause: error },
    );
  }
  return { path, release: () => closeNow(db) };
}
