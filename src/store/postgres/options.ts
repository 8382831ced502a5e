/**
 * Options of the Postgres ledger, with defaults and units in one place. The first group is what
 * a deployment sets (from config); the rest are tuning with defaults that fit one node.
 */
export interface PostgresLedgerOptions {
  /** `postgres://user:password@host:port/database`. */
  url: string;
  /** Connections this ledger opens at most (writes, reads and the audit share them). */
  poolSize: number;
  /** Bound on establishing one connection. */
  connectTimeoutMs: number;
  /** Bound on waiting for a free connection; past it the caller gets BUSY (nothing was sent). */
  acquireTimeoutMs: number;
  /** How long the first queued write waits for others to join its transaction; 0 = next turn. */
  groupCommitWindowMs: number;
  /** Writes committed in one transaction at most. */
  groupCommitWritesMax: number;
  /** Writes outstanding (queued or in a transaction) before `write` refuses at once with BUSY. */
  queueMax: number;
  /** Postgres schema holding the ledger's tables; created if missing. */
  schema?: string;
  /**
   * Group-commit transactions in flight at once. Two let one batch gather and check while the
   * previous one commits; a player's writes are never in two transactions at once.
   */
  writeTransactionsMax?: number;
  /** Callers waiting for a connection at most; past it they get BUSY at once. */
  acquireWaitersMax?: number;
  /** Server-side bound on one statement (a lock wait included), so no transaction hangs forever. */
  statementTimeoutMs?: number;
  /** How often the ledger proves it can commit while it is unhealthy or idle. */
  probeIntervalMs?: number;
  /** Bound on committing the writes already accepted at close. */
  closeTimeoutMs?: number;
}

export type ResolvedPostgresLedgerOptions = Required<PostgresLedgerOptions>;

export const postgresLedgerDefaults = {
  schema: "public",
  writeTransactionsMax: 2,
  acquireWaitersMax: 10_000,
  statementTimeoutMs: 10_000,
  probeIntervalMs: 1_000,
  closeTimeoutMs: 30_000,
} as const;

/** A schema name used unquoted in SQL: lower-case identifier characters only. */
const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

function assertIntegerIn(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(
      `postgres ledger option ${name}: ${value} is not an integer in ${min}..${max}`,
    );
  }
}

/** Merges defaults once and rejects options that cannot work, naming the option. */
export function resolveOptions(options: PostgresLedgerOptions): ResolvedPostgresLedgerOptions {
  const resolved: ResolvedPostgresLedgerOptions = { ...postgresLedgerDefaults, ...options };
  if (typeof resolved.url !== "string" || !/^postgres(ql)?:\/\//.test(resolved.url)) {
    throw new RangeError(
      "postgres ledger option url: must start with postgres:// or postgresql://",
    );
  }
  if (!schemaPattern.test(resolved.schema)) {
    throw new RangeError(
      `postgres ledger option schema: ${JSON.stringify(resolved.schema)} is not a lower-case identifier`,
    );
  }
  assertIntegerIn("poolSize", resolved.poolSize, 1, 1_000);
  assertIntegerIn("connectTimeoutMs", resolved.connectTimeoutMs, 1, 600_000);
  assertIntegerIn("acquireTimeoutMs", resolved.acquireTimeoutMs, 0, 600_000);
  assertIntegerIn("groupCommitWindowMs", resolved.groupCommitWindowMs, 0, 1_000);
  assertIntegerIn("groupCommitWritesMax", resolved.groupCommitWritesMax, 1, 100_000);
  assertIntegerIn("queueMax", resolved.queueMax, 1, 10_000_000);
  assertIntegerIn("writeTransactionsMax", resolved.writeTransactionsMax, 1, 64);
  assertIntegerIn("acquireWaitersMax", resolved.acquireWaitersMax, 0, 10_000_000);
  assertIntegerIn("statementTimeoutMs", resolved.statementTimeoutMs, 1, 3_600_000);
  assertIntegerIn("probeIntervalMs", resolved.probeIntervalMs, 1, 600_000);
  assertIntegerIn("closeTimeoutMs", resolved.closeTimeoutMs, 1, 600_000);
  return resolved;
}
