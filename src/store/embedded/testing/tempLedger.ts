import { Database } from "bun:sqlite";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Ledger } from "../../ledger.ts";
import type { LedgerTamper } from "../../ledgerContract.ts";
import { EmbeddedLedger, openEmbeddedLedger } from "../embeddedLedger.ts";
import type { EmbeddedLedgerOptions } from "../options.ts";

/** Test helpers: embedded ledgers in fresh temporary directories, and a tamperer for the audit. */

const createdDirs: string[] = [];

export async function freshDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "croupier-ledger-"));
  createdDirs.push(dir);
  return dir;
}

/** Removes every directory `freshDataDir` made (call from afterAll). */
export async function removeDataDirs(): Promise<void> {
  const dirs = createdDirs.splice(0);
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}

export const testLedgerOptions = {
  groupCommitWindowMs: 1,
  groupCommitWritesMax: 1_000,
  queueMax: 20_000,
  // Small caches: dozens of ledgers open one after another in a test run.
  writerCacheKiB: 2_048,
  walAutocheckpointPages: 1_000,
} satisfies Omit<EmbeddedLedgerOptions, "dataDir">;

export async function openTempLedger(
  options: Partial<EmbeddedLedgerOptions> = {},
): Promise<EmbeddedLedger> {
  return openEmbeddedLedger({ ...testLedgerOptions, dataDir: await freshDataDir(), ...options });
}

function embedded(ledger: Ledger): EmbeddedLedger {
  if (!(ledger instanceof EmbeddedLedger)) throw new Error("not an embedded ledger");
  return ledger;
}

/** Edits the SQLite file through a second connection, as a faulty tool or disk edit would. */
function tamperFile(ledger: Ledger, sql: string, ...params: (string | number | null)[]): void {
  tamperRows(ledger, 1, sql, ...params);
}

function tamperRows(
  ledger: Ledger,
  expectedChanges: number | "any",
  sql: string,
  ...params: (string | number | null)[]
): void {
  const db = new Database(embedded(ledger).path, { readwrite: true, strict: true });
  try {
    const changes = db.prepare(sql).run(...params).changes;
    if (expectedChanges !== "any" && changes !== expectedChanges)
      throw new Error(`tamper changed ${changes} rows, expected ${expectedChanges}`);
  } finally {
    db.close();
  }
}

export const sqliteTamper: LedgerTamper = {
  async skewBalance(ledger, playerId, delta) {
    tamperFile(
      ledger,
      "UPDATE players SET balance = balance + ? WHERE player_id = ?",
      delta,
      playerId,
    );
  },
  async unbalanceCommand(ledger, playerId, commandId, delta) {
    // A house/cash posting, so that only the entry's sum breaks, not the player's balance.
    tamperFile(
      ledger,
      `UPDATE postings SET amount = amount + ?
       WHERE (journal_id, n) = (
         SELECT p.journal_id, MIN(p.n) FROM postings p JOIN journal j ON j.id = p.journal_id
         WHERE j.player_id = ? AND j.command_id = ? AND p.balance_after IS NULL)`,
      delta,
      playerId,
      commandId,
    );
  },
  async negateAllPostings(ledger) {
    tamperRows(ledger, "any", "UPDATE postings SET amount = -amount");
  },
  async setBalanceAfter(ledger, playerId, commandId, value) {
    tamperFile(
      ledger,
      `UPDATE postings SET balance_after = ?
       WHERE balance_after IS NOT NULL AND journal_id = (
         SELECT id FROM journal WHERE player_id = ? AND command_id = ?)`,
      value,
      playerId,
      commandId,
    );
  },
  async swapSeqs(ledger, playerId, seqA, seqB) {
    tamperRows(
      ledger,
      2,
      `UPDATE journal SET seq = CASE seq WHEN ?1 THEN ?2 ELSE ?1 END
       WHERE player_id = ?3 AND seq IN (?1, ?2)`,
      seqA,
      seqB,
      playerId,
    );
  },
  async renamePostingAccount(ledger, playerId, commandId, from, to) {
    tamperFile(
      ledger,
      `UPDATE postings SET account = ?
       WHERE account = ? AND journal_id = (
         SELECT id FROM journal WHERE player_id = ? AND command_id = ?)`,
      to,
      from,
      playerId,
      commandId,
    );
  },
  async setPlayerPostingKind(ledger, playerId, commandId, kind) {
    tamperFile(
      ledger,
      `UPDATE postings SET kind = ?
       WHERE account = ? AND journal_id = (
         SELECT id FROM journal WHERE player_id = ? AND command_id = ?)`,
      kind,
      `player:${playerId}`,
      playerId,
      commandId,
    );
  },
  async addOrphanEntry(ledger, amount) {
    const db = new Database(embedded(ledger).path, { readwrite: true, strict: true });
    try {
      const row = db
        .query<{ id: number }, []>("SELECT COALESCE(MAX(id), 0) + 1000 AS id FROM journal")
        .get();
      const journalId = row?.id ?? 1000;
      db.prepare(
        `INSERT INTO postings (journal_id, n, account, kind, amount, balance_after)
         VALUES (?, 0, 'house:slot', NULL, ?, NULL), (?, 1, 'cash', NULL, ?, NULL)`,
      ).run(journalId, -amount, journalId, amount);
      return journalId;
    } finally {
      db.close();
    }
  },
};
