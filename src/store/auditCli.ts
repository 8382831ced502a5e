/**
 * `npm run audit`: checks the money invariants of the ledger in DATA_DIR and prints a report.
 * Exit code 0 when every invariant holds, 1 when one fails, 2 when the audit could not run.
 * Safe beside a running node: it opens the file read-only and reads one WAL snapshot.
 */
import { existsSync } from "node:fs";
import { loadConfig } from "../../config/load.ts";
import { auditSqliteLedger, formatAuditReport } from "./audit.ts";
import { ledgerPath, openReaderDatabase } from "./embedded/schema.ts";
import { openPostgresLedger } from "./postgres/postgresLedger.ts";

export const auditExitCodes = { ok: 0, invariantFailed: 1, error: 2 } as const;

/** Readers wait this long for a lock (only a checkpoint in progress takes one). */
const auditBusyTimeoutMs = 10_000;

/** With DATABASE_URL: the same invariants checked with set-based SQL on the Postgres ledger. */
async function runPostgresAudit(url: string): Promise<{ code: number; output: string }> {
  const ledger = await openPostgresLedger({
    url,
    poolSize: 2,
    connectTimeoutMs: 10_000,
    acquireTimeoutMs: 10_000,
    groupCommitWindowMs: 0,
    groupCommitWritesMax: 1,
    queueMax: 1,
  });
  try {
    const report = await ledger.audit();
    return {
      code: report.ok ? auditExitCodes.ok : auditExitCodes.invariantFailed,
      output: formatAuditReport(report, new URL(url).pathname.slice(1) || "postgres"),
    };
  } finally {
    await ledger.close();
  }
}

export async function runAudit(env: Record<string, string | undefined>): Promise<{
  code: number;
  output: string;
}> {
  const config = loadConfig(env);
  if (config.databaseUrl !== undefined) return runPostgresAudit(config.databaseUrl);
  const path = ledgerPath(config.dataDir);
  if (!existsSync(path)) {
    return {
      code: auditExitCodes.error,
      output: `no ledger at ${path} (DATA_DIR=${config.dataDir})`,
    };
  }
  const db = openReaderDatabase(path, auditBusyTimeoutMs);
  try {
    const report = auditSqliteLedger(db);
    return {
      code: report.ok ? auditExitCodes.ok : auditExitCodes.invariantFailed,
      output: formatAuditReport(report, path),
    };
  } finally {
    db.close();
  }
}

if (import.meta.main) {
  try {
    const { code, output } = await runAudit(process.env);
    (code === auditExitCodes.ok ? console.log : console.error)(output);
    process.exitCode = code;
  } catch (error) {
    console.error(`audit could not run: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = auditExitCodes.error;
  }
}
