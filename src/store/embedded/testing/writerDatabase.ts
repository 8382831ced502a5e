import type { Database } from "bun:sqlite";
import { depositWrite } from "../../ledgerContract.ts";
import { ledgerPath, openWriterDatabase } from "../schema.ts";
import { freshDataDir } from "./tempLedger.ts";

/** Test helpers for the batch writer on its own connection, without the worker. */

const testPragmas = { busyTimeoutMs: 1_000, cacheKiB: 2_048, walAutocheckpointPages: 1_000 };

/** A writer connection on a new ledger file in a fresh directory, with small caches. */
export async function openTestWriterDatabase(): Promise<Database> {
  return openWriterDatabase(ledgerPath(await freshDataDir()), testPragmas);
}

/** A second writer connection on the same file (as a writer the lock failed to keep out). */
export function openSecondWriterDatabase(db: Database): Database {
  return openWriterDatabase(db.filename, testPragmas);
}

/**
 * Makes inserting a posting to `house:boom` fail, after its write's journal row went in: ABORT
 * fails that statement (the writer rolls the write back to its savepoint), ROLLBACK the whole
 * transaction. Undo with `DROP TRIGGER boom`.
 */
export function failPostingsToBoom(db: Database, raise: "ABORT" | "ROLLBACK"): void {
  db.run(`CREATE TRIGGER boom BEFORE INSERT ON postings WHEN NEW.account = 'house:boom'
          BEGIN SELECT RAISE(${raise}, 'posting refused by test trigger'); END`);
}

/** A deposit of 10 to the player drawn from `house:boom` (see `failPostingsToBoom`). */
export function boomWrite(playerId: string, seq: number, id: string) {
  const write = depositWrite(playerId, seq, id, 10);
  write.postings = [
    { account: "house:boom", amount: -10 },
    { account: `player:${playerId}`, amount: 10, kind: "deposit" },
  ];
  return write;
}
