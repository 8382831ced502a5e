/**
 * `npm run audit`: checks the money invariants of the ledger in DATA_DIR and prints a report.
 * Exit code 0 when every invariant holds, 1 when one fails, 2 when the audit could not run.
 * Safe beside a running node: it opens the file read-only and reads one WAL snapshot.
 */
import { existsSync } from "node:fs";
import { loadConfig } from "../../config/load.ts";
import { auditSqliteLedger, formatAuditReport } from "./audit.ts";
import { ledgerPath, openReaderDatabase } from "./embedded/schema.ts";

export const auditExitCodes = { ok: 0, invariantFailed: 1, error: 2 } as const;

/** Readers wait this long for a lock (only a checkpoint in progress takes one). */
const auditBusyTimeoutMs = 10_000;

export function runAudit(env: Record<string, string | undefined>): {
  code: number;
  output: string;
} {
  const config = loadConfig(env);
  if (config.databaseUrl !== undefined) {
    return {
      code: auditExitCodes.error,
      output:
        "DATABASE_URL is set: this audit reads the embedded ledger only; audit the database backend with its own tool",
    };
  }
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
    const { code, output } = runAudit(process.env);
    (code === auditExitCodes.ok ? console.log : console.error)(output);
    process.exitCode = code;
  } catch (error) {
    console.error(`audit could not run: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = auditExitCodes.error;
  }
}
