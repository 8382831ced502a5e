/**
 * `npm run backup -- <directory>`: copies the embedded ledger in DATA_DIR, safely beside a running
 * node, into `<directory>/ledger.db`, a directory the node or the audit can use as DATA_DIR.
 *
 * Copying `ledger.db` with `cp` is not a backup: commits live in `ledger.db-wal` until a
 * checkpoint moves them, so the copy lacks the latest ones (and a copy of the two files taken
 * while they change need not be consistent). `VACUUM INTO` reads one snapshot in a read
 * transaction, as the audit does, and writes a complete, compact database of it; the node keeps
 * committing meanwhile. The copy is written under a temporary name and renamed when complete and
 * synced, so a failed backup never leaves a file that looks like one.
 *
 * With DATABASE_URL the ledger is in Postgres: back it up with Postgres's tools (`pg_dump`, or
 * base backups with WAL archiving), not with this command.
 *
 * Exit code 0 with the copy made, 2 when it could not be made.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadConfig } from "../../config/load.ts";
import { ledgerFileName, ledgerPath, openReaderDatabase } from "./embedded/schema.ts";

/** Readers wait this long for a lock (only a checkpoint in progress takes one). */
const backupBusyTimeoutMs = 10_000;

export interface BackupResult {
  path: string;
  bytes: number;
}

export function backupEmbeddedLedger(dataDir: string, targetDir: string): BackupResult {
  const source = ledgerPath(dataDir);
  if (!existsSync(source)) throw new Error(`no ledger at ${source} (DATA_DIR=${dataDir})`);
  const target = join(targetDir, ledgerFileName);
  if (resolve(target) === resolve(source))
    throw new Error("the backup cannot be the ledger itself");
  if (existsSync(target)) throw new Error(`${target} exists; a backup never overwrites a file`);
  mkdirSync(targetDir, { recursive: true });
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  const db = openReaderDatabase(source, backupBusyTimeoutMs);
  try {
    db.query("VACUUM INTO ?").run(partial);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    db.close();
  }
  syncFile(partial);
  renameSync(partial, target);
  syncFile(targetDir); // the rename itself survives a power cut only once the directory is synced
  return { path: target, bytes: Bun.file(target).size };
}

function syncFile(path: string): void {
  const descriptor = openSync(path, "r");
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}

if (import.meta.main) {
  const targetDir = process.argv[2];
  try {
    if (targetDir === undefined || targetDir === "")
      throw new Error("usage: npm run backup -- <directory for the copy>");
    const config = loadConfig(process.env);
    if (config.databaseUrl !== undefined)
      throw new Error(
        "DATABASE_URL is set: the ledger is in Postgres; back it up with pg_dump or base backups",
      );
    const { path, bytes } = backupEmbeddedLedger(config.dataDir, targetDir);
    console.log(`backup of ${ledgerPath(config.dataDir)} written to ${path} (${bytes} bytes)`);
    console.log(`check it with: DATA_DIR=${targetDir} npm run audit`);
  } catch (error) {
    console.error(`backup failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  }
}
