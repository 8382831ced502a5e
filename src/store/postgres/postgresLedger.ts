import { CroupierError } from "../../errors.ts";
import type {
  AuditReport,
  HistoryEntry,
  Ledger,
  PlayerLimits,
  PlayerState,
  RoundView,
  SequencedEvent,
  StoredCommand,
  WalletWrite,
  WriteOutcome,
} from "../ledger.ts";
import { noLimits, validateLimits } from "../limits.ts";
import type {
  CloseOutcome,
  NewTableRound,
  PendingTableBet,
  TableBetRecord,
  TableRoundRecord,
} from "../tableRounds.ts";
import { validateWrite } from "../validateWrite.ts";
import { auditPostgresLedger } from "./audit.ts";
import { BatchTransaction } from "./batchTransaction.ts";
import { isContentionRefusal } from "./failures.ts";
import { GroupCommit, type GroupCommitStats } from "./groupCommit.ts";
import {
  type PostgresLedgerOptions,
  type ResolvedPostgresLedgerOptions,
  resolveOptions,
} from "./options.ts";
import { ConnectionPool, isPoolWaitRefusal } from "./pool.ts";
import * as reader from "./reader.ts";
import { migrate } from "./schema.ts";
import * as roundReader from "./tableRoundReader.ts";
import * as rounds from "./tableRounds.ts";
import { readLimits } from "./writeStatements.ts";

/**
 * The Postgres ledger: group-committed write transactions on a fixed pool, idempotency and
 * fencing enforced by the database's unique keys, reads and the audit on the same pool.
 *
 * Health: false after a transaction failed for a reason other than a refused write, and while
 * the last probe could not commit; a probe (a transaction that commits nothing but its own id,
 * so it waits for the WAL flush like any commit) runs every `probeIntervalMs` in which no batch
 * committed, so readiness follows the database both ways without traffic.
 *
 * Table rounds: bets, payouts and refunds are wallet writes (group-committed, each checking its
 * round's status under the round's share lock); the round's own steps are short transactions
 * of their own on the pool (tableRounds.ts).
 */
export class PostgresLedger implements Ledger {
  readonly #options: ResolvedPostgresLedgerOptions;
  readonly #pool: ConnectionPool;
  readonly #groupCommit: GroupCommit;
  readonly #settings: string;
  readonly #probeTimer: ReturnType<typeof setInterval>;
  #healthy = true;
  #lastCommitMs = performance.now();
  #probing = false;
  #closed = false;

  private constructor(
    options: ResolvedPostgresLedgerOptions,
    pool: ConnectionPool,
    settings: string,
  ) {
    this.#options = options;
    this.#pool = pool;
    this.#settings = settings;
    this.#groupCommit = new GroupCommit(
      {
        windowMs: options.groupCommitWindowMs,
        writesMax: options.groupCommitWritesMax,
        queueMax: options.queueMax,
        transactionsMax: options.writeTransactionsMax,
      },
      (writes) => this.#commitBatch(writes),
    );
    this.#probeTimer = setInterval(() => void this.#probe(), options.probeIntervalMs);
    this.#probeTimer.unref();
  }

  static async open(options: PostgresLedgerOptions): Promise<PostgresLedger> {
    const resolved = resolveOptions(options);
    const pool = new ConnectionPool({
      url: resolved.url,
      size: resolved.poolSize,
      connectTimeoutMs: resolved.connectTimeoutMs,
      acquireTimeoutMs: resolved.acquireTimeoutMs,
      waitersMax: resolved.acquireWaitersMax,
      // A transaction is a few statements, each bounded by the server.
      useMsMax: resolved.connectTimeoutMs + 3 * resolved.statementTimeoutMs,
      parameters: {
        search_path: resolved.schema,
        // Set here, not trusted from the server's defaults: a commit is durable when it returns.
        synchronous_commit: "on",
        statement_timeout: String(resolved.statementTimeoutMs),
      },
    });
    try {
      const settings = await pool.use(async (sql) => {
        await migrate(sql, resolved.schema);
        const [row] = await sql<{ synchronous_commit: string; fsync: string; version: string }[]>`
          SELECT current_setting('synchronous_commit') AS synchronous_commit,
                 current_setting('fsync') AS fsync,
                 current_setting('server_version') AS version`;
        if (row?.synchronous_commit !== "on") {
          throw new Error(`synchronous_commit is ${row?.synchronous_commit}, not on`);
        }
        return `postgres ${row.version} synchronous_commit=on fsync=${row.fsync}`;
      }, true);
      return new PostgresLedger(resolved, pool, settings);
    } catch (error) {
      await pool.end(resolved.closeTimeoutMs);
      throw error;
    }
  }

  write(write: WalletWrite): Promise<WriteOutcome> {
    if (this.#closed) {
      return Promise.reject(new CroupierError("BUSY", "ledger is closed; nothing was written"));
    }
    // A malformed write is refused alone, before it can reach a batch: one with an undefined id
    // would fail the batch's reads, and its neighbours with it.
    try {
      validateWrite(write);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return Promise.reject(new CroupierError("INTERNAL", `ledger refused the write: ${reason}`));
    }
    return this.#groupCommit.submit(write);
  }

  loadPlayer(playerId: string): Promise<PlayerState> {
    return this.#pool.use((sql) => reader.loadPlayer(sql, playerId));
  }

  findCommand(playerId: string, commandId: string): Promise<StoredCommand | undefined> {
    return this.#pool.use((sql) => reader.findCommand(sql, playerId, commandId));
  }

  eventsAfter(playerId: string, afterSeq: number, limit: number): Promise<SequencedEvent[]> {
    return this.#pool.use((sql) => reader.eventsAfter(sql, playerId, afterSeq, limit));
  }

  history(playerId: string, limit: number, before?: number): Promise<HistoryEntry[]> {
    return this.#pool.use((sql) => reader.history(sql, playerId, limit, before));
  }

  findRound(roundId: string): Promise<RoundView | undefined> {
    return this.#pool.use((sql) => reader.findRound(sql, roundId));
  }

  openTableRound(round: NewTableRound): Promise<boolean> {
    return rounds.openTableRound(this.#pool, round);
  }

  closeTableRound(roundId: string): Promise<CloseOutcome> {
    return rounds.closeTableRound(this.#pool, roundId);
  }

  settleTableRound(roundId: string, result: number): Promise<boolean> {
    return rounds.settleTableRound(this.#pool, roundId, result);
  }

  voidTableRound(roundId: string): Promise<boolean> {
    return rounds.voidTableRound(this.#pool, roundId);
  }

  markTableRoundPaid(roundId: string): Promise<boolean> {
    return rounds.markTableRoundPaid(this.#pool, roundId);
  }

  tableRound(roundId: string): Promise<TableRoundRecord | undefined> {
    return this.#pool.use((sql) => roundReader.tableRound(sql, roundId));
  }

  tableRoundBets(roundId: string): Promise<TableBetRecord[]> {
    return this.#pool.use((sql) => roundReader.tableRoundBets(sql, roundId));
  }

  unfinishedTableRounds(table: string): Promise<TableRoundRecord[]> {
    return this.#pool.use((sql) => roundReader.unfinishedTableRounds(sql, table));
  }

  voidedTableRoundCount(table: string): Promise<number> {
    return this.#pool.use((sql) => roundReader.voidedTableRoundCount(sql, table));
  }

  pendingTableBets(playerId: string): Promise<PendingTableBet[]> {
    return this.#pool.use((sql) => roundReader.pendingTableBets(sql, playerId));
  }

  setTableSeat(table: string, playerId: string, seated: boolean): Promise<void> {
    return rounds.setTableSeat(this.#pool, table, playerId, seated);
  }

  tableSeats(table: string): Promise<string[]> {
    return this.#pool.use((sql) => roundReader.tableSeats(sql, table));
  }

  /**
   * One autocommitted upsert. A write's transaction reads the limits after taking its player's
   * row lock, so every write that starts after this resolves is checked against them.
   */
  async setLimits(playerId: string, limits: PlayerLimits): Promise<PlayerLimits> {
    validateLimits(limits);
    const { selfExcludedUntil, lossLimitPerDay } = limits;
    await this.#pool.use(
      (sql) => sql`
        INSERT INTO player_limits (player_id, self_excluded_until_ms, loss_limit_per_day)
        VALUES (${playerId}, ${selfExcludedUntil}, ${lossLimitPerDay})
        ON CONFLICT (player_id) DO UPDATE SET
          self_excluded_until_ms = excluded.self_excluded_until_ms,
          loss_limit_per_day = excluded.loss_limit_per_day,
          updated_at = now()`,
    );
    return { selfExcludedUntil, lossLimitPerDay };
  }

  async getLimits(playerId: string): Promise<PlayerLimits> {
    return (await this.#pool.use((sql) => readLimits(sql, playerId))) ?? { ...noLimits };
  }

  /** One snapshot on one pooled connection; writes go on meanwhile on the others. */
  audit(): Promise<AuditReport> {
    return this.#pool.use((sql) => auditPostgresLedger(sql), true);
  }

  healthy(): boolean {
    return !this.#closed && this.#healthy;
  }

  durability(): string {
    const { groupCommitWindowMs, groupCommitWritesMax, writeTransactionsMax, poolSize } =
      this.#options;
    return (
      `${this.#settings}, group commit ${groupCommitWindowMs} ms / ${groupCommitWritesMax} writes,` +
      ` ${writeTransactionsMax} transactions in flight, pool of ${poolSize}`
    );
  }

  /** Counters of the group commit, for the bench. */
  stats(): Readonly<GroupCommitStats> {
    return { ...this.#groupCommit.stats };
  }

  /** Commits the writes already accepted (bounded by closeTimeoutMs), then closes the pool. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#probeTimer);
    const { closeTimeoutMs } = this.#options;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, closeTimeoutMs);
    });
    await Promise.race([this.#groupCommit.drain(), timedOut]);
    clearTimeout(timer);
    this.#groupCommit.refuseQueued("ledger closed before the write was sent");
    // Transactions still running after the bound are cut off: their writes end INTERNAL.
    await this.#pool.end(0);
  }

  async #commitBatch(writes: readonly WalletWrite[]) {
    try {
      const results = await BatchTransaction.commit(this.#pool, writes);
      this.#healthy = true;
      this.#lastCommitMs = performance.now();
      return results;
    } catch (error) {
      // No free connection in time, or another session's lock held too long, is load, not a
      // broken database.
      if (!isPoolWaitRefusal(error) && !isContentionRefusal(error)) this.#healthy = false;
      throw error;
    }
  }

  async #probe(): Promise<void> {
    if (this.#probing || this.#closed) return;
    if (this.#healthy && performance.now() - this.#lastCommitMs < this.#options.probeIntervalMs) {
      return;
    }
    this.#probing = true;
    try {
      await this.#pool.use((sql) => sql`SELECT pg_current_xact_id()`);
      this.#healthy = true;
      this.#lastCommitMs = performance.now();
    } catch (error) {
      if (!isPoolWaitRefusal(error)) this.#healthy = false;
    } finally {
      this.#probing = false;
    }
  }
}

export function openPostgresLedger(options: PostgresLedgerOptions): Promise<PostgresLedger> {
  return PostgresLedger.open(options);
}
