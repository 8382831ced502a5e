/**
 * `npm run audit`: checks the money invariants of the ledger in DATA_DIR and prints a report.
 * Exit code 0 when every invariant holds, 1 when one fails, 2 when the audit could not run.
 * Safe beside a running node: it opens the file read-only and reads one WAL snapshot. With
 * DATABASE_URL it reads one snapshot in a read-only Postgres session, and never creates or
 * migrates the ledger's tables: a database without them, or at another version, is exit 2.
 */
import { existsSync } from "node:fs";
import { loadConfig } from "../../config/load.ts";
import { auditSqliteLedger, formatAuditReport } from "./audit.ts";
import { ledgerPath, openReaderDatabase } from "./embedded/schema.ts";
import { auditPostgresDatabase } from "./postgres/auditDatabase.ts";
import { LedgerSchemaError } from "./postgres/schema.ts";

export const auditExitCodes = { ok: 0, invariantFailed: 1, error: 2 } as const;

/** Readers wait this long for a lock (only a checkpoint in progress takes one). */
const auditBusyTimeoutMs = 10_000;

/** Bound on connecting to Postgres. */
const auditConnectTimeoutMs = 10_000;

/** With DATABASE_URL: the same invariants checked with set-based SQL on the Postgres ledger. */
async function runPostgresAudit(url: string): Promise<{ code: number; output: string }> {
  const database = new URL(url).pathname.slice(1) || "postgres";
  try {
    const report = await auditPostgresDatabase({ url, connectTimeoutMs: auditConnectTimeoutMs });
    return {
      code: report.ok ? auditExitCodes.ok : auditExitCodes.invariantFailed,
      output: formatAuditReport(report, database),
    };
  } catch (error) {
    if (!(error instanceof LedgerSchemaError)) throw error;
    return {
      code: auditExitCodes.error,
      output: `audit could not run on database ${database}: ${error.message} (the audit never creates or migrates the ledger's tables)`,
    };
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
