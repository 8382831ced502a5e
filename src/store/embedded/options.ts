/**
 * Options of the embedded (bun:sqlite) ledger, with their defaults and units in one place.
 * The group-commit knobs come from config (LEDGER_GROUP_COMMIT_MS, LEDGER_GROUP_COMMIT_WRITES_MAX,
 * LEDGER_QUEUE_MAX); the rest are storage tuning with defaults measured on the bench.
 */
export interface EmbeddedLedgerOptions {
  /** Directory of `ledger.db`; created if missing. */
  dataDir: string;
  /** How long the writer waits for more writes when its queue is below a full batch; 0 = no wait. */
  groupCommitWindowMs: number;
  /** Writes committed in one transaction at most. */
  groupCommitWritesMax: number;
  /** Writes outstanding (sent or waiting, not yet answered) before `write` refuses with BUSY. */
  queueMax: number;
  /** How long a connection waits for a lock held by another connection before failing. */
  busyTimeoutMs?: number;
  /** Page cache of the writer connection, KiB. The hot index pages of every active player fit. */
  writerCacheKiB?: number;
  /**
   * Hard bound of the WAL, in pages: past it the writer checkpoints inside its commit (a stall).
   * The checkpointer thread normally keeps the WAL far below it; the bound is for when it cannot.
   * Also the size the WAL file is cut back to when it starts over.
   */
  walAutocheckpointPages?: number;
  /**
   * How often the checkpointer thread copies committed WAL pages into the main file. Longer means
   * a page rewritten by many commits is copied once; shorter means less left for the writer.
   */
  checkpointIntervalMs?: number;
  /**
   * WAL pages after which the checkpointer, once caught up, asks the writer to start the WAL over
   * (which costs the writer one small checkpoint, of what it committed since). Larger means fewer
   * such pauses at the cost of a larger WAL file.
   */
  walRestartPages?: number;
  /**
   * After a failed transaction the writer tries a tiny write this often until one commits, so
   * readiness comes back on its own even when no traffic arrives (a not-ready node gets none).
   */
  recoveryProbeMs?: number;
  /** Bound on opening (schema creation, pragma checks) before the open fails. */
  openTimeoutMs?: number;
  /** Bound on draining queued writes at close before they are failed as INTERNAL. */
  closeTimeoutMs?: number;
}

export type ResolvedEmbeddedLedgerOptions = Required<EmbeddedLedgerOptions>;

export const embeddedLedgerDefaults = {
  busyTimeoutMs: 5_000,
  writerCacheKiB: 64 * 1024, // 64 MiB
  walAutocheckpointPages: 40_000, // 4 KiB pages: 160 MiB
  // 250 ms would halve the checkpointer's CPU per spin (3.3 -> 1.8 us), but the writer's WAL
  // restart then copies up to 250 ms of commits itself: 15-22 ms stalls instead of 3-11 ms, and
  // an open-loop p99 of 20-34 ms instead of 10-15 ms (bench/RESULTS.md).
  checkpointIntervalMs: 50,
  walRestartPages: 16_000, // 4 KiB pages: 64 MiB
  recoveryProbeMs: 1_000,
  openTimeoutMs: 30_000,
  closeTimeoutMs: 30_000,
} as const;

/** Postings one write may carry at most; also the radix of history cursors (seq * radix + index). */
export const postingsPerWriteMax = 64;

/** Length bounds of the identifiers the store accepts (the protocol allows 64; settlements add "round:"). */
export const playerIdLengthMax = 64;
export const commandIdLengthMax = 128;

function assertIntegerIn(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(
      `embedded ledger option ${name}: ${value} is not an integer in ${min}..${max}`,
    );
  }
}

/** Merges defaults once and rejects options that cannot work, naming the option. */
export function resolveOptions(options: EmbeddedLedgerOptions): ResolvedEmbeddedLedgerOptions {
  const resolved: ResolvedEmbeddedLedgerOptions = { ...embeddedLedgerDefaults, ...options };
  if (options.walRestartPages === undefined) {
    // The WAL starts over well before the hard bound, also when only the bound was lowered.
    resolved.walRestartPages = Math.min(
      embeddedLedgerDefaults.walRestartPages,
      Math.floor(resolved.walAutocheckpointPages / 2),
    );
  }
  if (typeof resolved.dataDir !== "string" || resolved.dataDir === "") {
    throw new RangeError("embedded ledger option dataDir: must be a non-empty path");
  }
  assertIntegerIn("groupCommitWindowMs", resolved.groupCommitWindowMs, 0, 1_000);
  assertIntegerIn("groupCommitWritesMax", resolved.groupCommitWritesMax, 1, 100_000);
  assertIntegerIn("queueMax", resolved.queueMax, 1, 10_000_000);
  assertIntegerIn("busyTimeoutMs", resolved.busyTimeoutMs, 0, 600_000);
  assertIntegerIn("writerCacheKiB", resolved.writerCacheKiB, 1_024, 16 * 1024 * 1024);
  assertIntegerIn("walAutocheckpointPages", resolved.walAutocheckpointPages, 100, 1_000_000);
  assertIntegerIn("checkpointIntervalMs", resolved.checkpointIntervalMs, 1, 600_000);
  assertIntegerIn("walRestartPages", resolved.walRestartPages, 1, resolved.walAutocheckpointPages);
  assertIntegerIn("recoveryProbeMs", resolved.recoveryProbeMs, 1, 600_000);
  assertIntegerIn("openTimeoutMs", resolved.openTimeoutMs, 1, 600_000);
  assertIntegerIn("closeTimeoutMs", resolved.closeTimeoutMs, 1, 600_000);
  return resolved;
}
