import type { Database } from "bun:sqlite";
import { mkdir } from "node:fs/promises";
import { auditSqliteLedger } from "../audit.ts";
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
import type {
  CloseOutcome,
  NewTableRound,
  PendingTableBet,
  TableBetRecord,
  TableRoundRecord,
} from "../tableRounds.ts";
import {
  type EmbeddedLedgerOptions,
  type ResolvedEmbeddedLedgerOptions,
  resolveOptions,
} from "./options.ts";
import { LedgerReader } from "./reader.ts";
import { closeNow, type Durability, ledgerPath, openReaderDatabase } from "./schema.ts";
import { TableRoundReader } from "./tableRoundReader.ts";
import { WriterClient, type WriterStats } from "./writerClient.ts";

/**
 * The embedded ledger: one SQLite file in WAL mode with synchronous=FULL. Writes go to a worker
 * thread that group-commits them, a second thread checkpoints the WAL; reads and the audit use a
 * read-only connection here.
 */
export class EmbeddedLedger implements Ledger {
  /** Path of the SQLite file, for tools and fault-injection tests. */
  readonly path: string;
  readonly #options: ResolvedEmbeddedLedgerOptions;
  readonly #writer: WriterClient;
  readonly #readDb: Database;
  readonly #reader: LedgerReader;
  readonly #rounds: TableRoundReader;
  readonly #durability: Durability;
  #closed = false;

  constructor(
    options: ResolvedEmbeddedLedgerOptions,
    writer: WriterClient,
    readDb: Database,
    durability: Durability,
  ) {
    this.path = ledgerPath(options.dataDir);
    this.#options = options;
    this.#writer = writer;
    this.#readDb = readDb;
    this.#reader = new LedgerReader(readDb);
    this.#rounds = new TableRoundReader(readDb);
    this.#durability = durability;
  }

  write(write: WalletWrite): Promise<WriteOutcome> {
    return this.#writer.write(write);
  }

  async loadPlayer(playerId: string): Promise<PlayerState> {
    return this.#reader.loadPlayer(playerId);
  }

  async findCommand(playerId: string, commandId: string): Promise<StoredCommand | undefined> {
    return this.#reader.findCommand(playerId, commandId);
  }

  async eventsAfter(playerId: string, afterSeq: number, limit: number): Promise<SequencedEvent[]> {
    return this.#reader.eventsAfter(playerId, afterSeq, limit);
  }

  async history(playerId: string, limit: number, before?: number): Promise<HistoryEntry[]> {
    return this.#reader.history(playerId, limit, before);
  }

  async findRound(roundId: string): Promise<RoundView | undefined> {
    return this.#reader.findRound(roundId);
  }

  setLimits(playerId: string, limits: PlayerLimits): Promise<PlayerLimits> {
    return this.#writer.setLimits(playerId, limits);
  }

  async getLimits(playerId: string): Promise<PlayerLimits> {
    return this.#reader.getLimits(playerId);
  }

  openTableRound(round: NewTableRound): Promise<boolean> {
    return this.#writer.tableRound({ kind: "open", round });
  }

  closeTableRound(roundId: string): Promise<CloseOutcome> {
    return this.#writer.tableRound({ kind: "close", roundId });
  }

  settleTableRound(roundId: string, result: number): Promise<boolean> {
    return this.#writer.tableRound({ kind: "settle", roundId, result });
  }

  voidTableRound(roundId: string): Promise<boolean> {
    return this.#writer.tableRound({ kind: "void", roundId });
  }

  markTableRoundPaid(roundId: string): Promise<boolean> {
    return this.#writer.tableRound({ kind: "mark_paid", roundId });
  }

  async tableRound(roundId: string): Promise<TableRoundRecord | undefined> {
    return this.#rounds.tableRound(roundId);
  }

  async tableRoundBets(roundId: string): Promise<TableBetRecord[]> {
    return this.#rounds.tableRoundBets(roundId);
  }

  async unfinishedTableRounds(table: string): Promise<TableRoundRecord[]> {
    return this.#rounds.unfinishedTableRounds(table);
  }

  async voidedTableRoundCount(table: string): Promise<number> {
    return this.#rounds.voidedTableRoundCount(table);
  }

  async pendingTableBets(playerId: string): Promise<PendingTableBet[]> {
    return this.#rounds.pendingTableBets(playerId);
  }

  async setTableSeat(table: string, playerId: string, seated: boolean): Promise<void> {
    await this.#writer.tableRound({ kind: "seat", table, playerId, seated });
  }

  async tableSeats(table: string): Promise<string[]> {
    return this.#rounds.tableSeats(table);
  }

  /** Runs on the read connection (a snapshot; writes go on in the worker meanwhile). */
  async audit(): Promise<AuditReport> {
    return auditSqliteLedger(this.#readDb);
  }

  healthy(): boolean {
    return !this.#closed && this.#writer.healthy();
  }

  durability(): string {
    const { journalMode, synchronous, busyTimeoutMs } = this.#durability;
    const { groupCommitWindowMs, groupCommitWritesMax } = this.#options;
    return (
      `sqlite journal_mode=${journalMode} synchronous=${synchronous === 2 ? "FULL" : synchronous} ` +
      `busy_timeout=${busyTimeoutMs}ms, group commit ${groupCommitWindowMs} ms / ${groupCommitWritesMax} writes`
    );
  }

  /** Counters of the group commit (batches, largest batch, worker time, WAL restarts), for the bench. */
  stats(): Readonly<WriterStats> {
    return this.#writer.stats;
  }

  /** Fault injection for tests: the writer thread stops as if it had crashed. */
  terminateWriter(): void {
    this.#writer.terminateWorker();
  }

  /** Fault injection for tests: the checkpointer thread stops; the writer must carry on. */
  terminateCheckpointer(): void {
    this.#writer.terminateCheckpointer();
  }

  /** Commits the writes already accepted, then closes both connections. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer.close(this.#options.closeTimeoutMs);
    closeNow(this.#readDb);
  }
}

/**
 * Opens (creating if needed) `${dataDir}/ledger.db`; fails unless WAL and synchronous=FULL took,
 * and while another writer (another process, or another ledger here) holds the file's writer lock
 * (writerLock.ts). Readers of the file, such as the audit command, need no lock.
 */
export async function openEmbeddedLedger(options: EmbeddedLedgerOptions): Promise<EmbeddedLedger> {
  const resolved = resolveOptions(options);
  await mkdir(resolved.dataDir, { recursive: true });
  const path = ledgerPath(resolved.dataDir);
  const writer = await WriterClient.start(
    {
      path,
      pragmas: {
        busyTimeoutMs: resolved.busyTimeoutMs,
        cacheKiB: resolved.writerCacheKiB,
        walAutocheckpointPages: resolved.walAutocheckpointPages,
      },
      groupCommitWindowMs: resolved.groupCommitWindowMs,
      groupCommitWritesMax: resolved.groupCommitWritesMax,
      recoveryProbeMs: resolved.recoveryProbeMs,
      queueMax: resolved.queueMax,
    },
    {
      checkpointIntervalMs: resolved.checkpointIntervalMs,
      walRestartPages: resolved.walRestartPages,
    },
    resolved.openTimeoutMs,
  );
  const durability = await writer.durability;
  // The worker created the schema before answering, so the read-only connection finds it.
  let readDb: Database;
  try {
    readDb = openReaderDatabase(path, resolved.busyTimeoutMs);
  } catch (error) {
    await writer.close(resolved.closeTimeoutMs);
    throw error;
  }
  return new EmbeddedLedger(resolved, writer, readDb, durability);
}
