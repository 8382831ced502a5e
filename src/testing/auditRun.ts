const auditCliPath = new URL("../store/auditCli.ts", import.meta.url).pathname;

export interface AuditRun {
  /** 0: every invariant holds; 1: one is broken; 2: the ledger could not be read. */
  exit: number;
  /** What the command printed (stdout then stderr). */
  report: string;
}

/**
 * Runs `npm run audit` (src/store/auditCli.ts) as its own process, the way an operator would, on
 * the embedded ledger in `dataDir` or, with `databaseUrl`, on Postgres.
 */
export function runAuditCli(ledger: { dataDir?: string; databaseUrl?: string }): AuditRun {
  const run = Bun.spawnSync([process.execPath, auditCliPath], {
    env: {
      ...process.env,
      ...(ledger.dataDir === undefined ? {} : { DATA_DIR: ledger.dataDir }),
      ...(ledger.databaseUrl === undefined ? {} : { DATABASE_URL: ledger.databaseUrl }),
    },
  });
  return {
    exit: run.exitCode,
    report: `${run.stdout.toString()}${run.stderr.toString()}`.trim(),
  };
}
