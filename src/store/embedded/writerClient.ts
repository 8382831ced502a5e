import { assertNever, CroupierError } from "../../errors.ts";
import type { PlayerLimits, WalletWrite, WriteOutcome } from "../ledger.ts";
import type { WriteResult } from "./batchWriter.ts";
import type { CheckpointerSettings } from "./checkpointer.ts";
import { CheckpointerClient } from "./checkpointerClient.ts";
import type { Durability } from "./schema.ts";
import { LedgerLockedError } from "./writerLock.ts";
import {
  appendWrite,
  decodeResults,
  type FromWriter,
  isFlat,
  type NumberedWrite,
  type TableRoundAnswer,
  type TableRoundAnswers,
  type TableRoundOp,
  type ToWriter,
  type WriterSettings,
  writesTag,
} from "./writerProtocol.ts";

/**
 * The main thread's side of the writer worker (and of the checkpointer thread that keeps the WAL
 * short for it). Writes issued in the same turn of the event loop travel together, up to
 * `writesPerMessageMax` per message; every outstanding write holds a promise settled by the
 * worker's answer. Outstanding writes are bounded by `queueMax`: past it `write` refuses at once
 * with BUSY.
 */

export interface WriterStats {
  /** Transactions committed. */
  batches: number;
  /** Writes answered from committed transactions (any outcome). */
  writes: number;
  /** Largest batch committed in one transaction. */
  batchWritesMax: number;
  /** Transactions that failed and were rolled back. */
  batchesFailed: number;
  /** Time the worker spent inside transactions, ms. */
  workerBusyMs: number;
  /** Times the writer checkpointed the rest of the WAL so that it starts over, and the longest. */
  walRestarts: number;
  walRestartMsMax: number;
  /** Checkpointer passes that failed (retried at the next interval). */
  checkpointPassesFailed: number;
}

type State = "opening" | "open" | "closing" | "closed" | "dead";

interface Pending {
  resolve(outcome: WriteOutcome): void;
  reject(error: CroupierError): void;
}

/** Limit changes waiting for the writer at most; past it they get BUSY. */
const limitsPendingMax = 1_000;

/**
 * A failed transaction is usually rolled back, but one that failed while committing (a WAL write
 * or sync refused by the disk) may still be found committed when the file is next opened: the
 * write is in doubt either way, and only a read of the ledger tells.
 */
const batchFailedMessage =
  "the ledger transaction failed; whether this write committed is unknown until the ledger is read again";

/**
 * Writes sent to the writer thread in one message at most. A turn that produces more (a thousand
 * players' spins arriving together) sends them as they come, so the writer starts on the first
 * while the rest are still being produced: at 1,000 clients, +3% spins/s (median of twelve
 * interleaved pairs, 9 faster, 2 even; bench/RESULTS.md).
 */
const writesPerMessageMax = 64;

/**
 * Settles a control request (limits, a table-round step) with the worker's answer, or with
 * INTERNAL naming `failure` and the worker's reason when it sent none.
 */
function answerControl<T>(
  pending: Map<number, PromiseWithResolvers<T>>,
  reply: { id: number; message?: string },
  answer: T | undefined,
  failure: string,
): void {
  const request = pending.get(reply.id);
  pending.delete(reply.id);
  if (answer !== undefined) request?.resolve(answer);
  else request?.reject(new CroupierError("INTERNAL", `${failure}: ${reply.message ?? "unknown"}`));
}

export class WriterClient {
  readonly #worker: Worker;
  #checkpointer: CheckpointerClient | undefined;
  readonly #queueMax: number;
  readonly #pending = new Map<number, Pending>();
  readonly #pendingLimits = new Map<number, PromiseWithResolvers<PlayerLimits>>();
  readonly #pendingRounds = new Map<number, PromiseWithResolvers<TableRoundAnswer>>();
  #outbox: NumberedWrite[] = [];
  #outboxScheduled = false;
  #nextId = 1;
  #state: State = "opening";
  #lastBatchFailed = false;
  readonly #opened = Promise.withResolvers<Durability>();
  readonly #closed = Promise.withResolvers<void>();
  readonly #stats: WriterStats = {
    batches: 0,
    writes: 0,
    batchWritesMax: 0,
    batchesFailed: 0,
    workerBusyMs: 0,
    walRestarts: 0,
    walRestartMsMax: 0,
    checkpointPassesFailed: 0,
  };

  private constructor(settings: WriterSettings) {
    this.#queueMax = settings.queueMax;
    this.#worker = new Worker(new URL("./writerWorker.ts", import.meta.url).href);
    this.#worker.addEventListener("message", (event: MessageEvent<FromWriter | unknown[]>) => {
      if (isFlat(event.data)) this.#receiveResults(event.data);
      else this.#receive(event.data);
    });
    this.#worker.addEventListener("error", (event) =>
      this.#die(`writer thread failed: ${event.message}`),
    );
    this.#worker.addEventListener("messageerror", () =>
      this.#die("writer message could not be read"),
    );
    this.#worker.addEventListener("close", () => this.#die("writer thread exited"));
    this.#post({ type: "open", settings });
  }

  /**
   * Starts the worker, waits until it has opened the file and verified its durability, then
   * starts the checkpointer on the same file.
   */
  static async start(
    settings: Omit<WriterSettings, "restartSignal">,
    checkpointing: Pick<CheckpointerSettings, "checkpointIntervalMs" | "walRestartPages">,
    openTimeoutMs: number,
  ): Promise<WriterClient> {
    const restartSignal = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
    const client = new WriterClient({ ...settings, restartSignal });
    const timer = setTimeout(
      () => client.#die(`writer did not open within ${openTimeoutMs} ms`),
      openTimeoutMs,
    );
    try {
      await client.#opened.promise;
    } finally {
      clearTimeout(timer);
    }
    try {
      client.#checkpointer = await CheckpointerClient.start(
        {
          path: settings.path,
          busyTimeoutMs: settings.pragmas.busyTimeoutMs,
          ...checkpointing,
          restartSignal,
        },
        openTimeoutMs,
      );
    } catch (error) {
      await client.close(openTimeoutMs);
      throw error;
    }
    return client;
  }

  get stats(): WriterStats {
    return { ...this.#stats, checkpointPassesFailed: this.#checkpointer?.passesFailed ?? 0 };
  }

  /** Durability settings as the worker read them back from SQLite after opening. */
  get durability(): Promise<Durability> {
    return this.#opened.promise;
  }

  /** True while writes can commit: the worker runs and the last transaction did not fail. */
  healthy(): boolean {
    return this.#state === "open" && !this.#lastBatchFailed;
  }

  write(write: WalletWrite): Promise<WriteOutcome> {
    if (this.#state !== "open") {
      return Promise.reject(
        new CroupierError("BUSY", `ledger is ${this.#state}; nothing was written`),
      );
    }
    if (this.#pending.size >= this.#queueMax) {
      return Promise.reject(
        new CroupierError("BUSY", `ledger queue is full (${this.#queueMax} writes outstanding)`),
      );
    }
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<WriteOutcome>();
    this.#pending.set(id, { resolve, reject });
    this.#outbox.push({ id, write });
    if (this.#outbox.length >= writesPerMessageMax) this.#sendOutbox();
    else if (!this.#outboxScheduled) {
      this.#outboxScheduled = true;
      // A macrotask, not a microtask: every write issued while this turn's promise chains
      // run joins the same message.
      setImmediate(() => this.#sendOutbox());
    }
    return promise;
  }

  /** Stores a player's limits; writes sent after this resolves are checked against them. */
  setLimits(playerId: string, limits: PlayerLimits): Promise<PlayerLimits> {
    if (this.#state !== "open") {
      return Promise.reject(
        new CroupierError("BUSY", `ledger is ${this.#state}; nothing was written`),
      );
    }
    // Each is a transaction of its own (the writer drains its queue first), so they are bounded
    // like writes are.
    if (this.#pendingLimits.size >= limitsPendingMax) {
      return Promise.reject(
        new CroupierError(
          "BUSY",
          `${limitsPendingMax} limit changes already wait; nothing was written`,
        ),
      );
    }
    // Writes already issued go first, so the limits apply from the next write on.
    this.#sendOutbox();
    const id = this.#nextId++;
    const resolvers = Promise.withResolvers<PlayerLimits>();
    this.#pendingLimits.set(id, resolvers);
    this.#post({
      type: "set_limits",
      id,
      playerId,
      limits: {
        selfExcludedUntil: limits.selfExcludedUntil,
        lossLimitPerDay: limits.lossLimitPerDay,
      },
    });
    return resolvers.promise;
  }

  /**
   * Applies one step of a table round in a transaction of its own, after every write issued
   * before it (a close fixes the seeds of the bets sent before it).
   */
  tableRound<K extends TableRoundOp["kind"]>(
    op: Extract<TableRoundOp, { kind: K }>,
  ): Promise<TableRoundAnswers[K]> {
    if (this.#state !== "open") {
      return Promise.reject(
        new CroupierError("BUSY", `ledger is ${this.#state}; nothing was written`),
      );
    }
    this.#sendOutbox();
    const id = this.#nextId++;
    const resolvers = Promise.withResolvers<TableRoundAnswer>();
    this.#pendingRounds.set(id, resolvers);
    this.#post({ type: "table_round", id, op });
    // The worker answers each step with the answer of its kind.
    return resolvers.promise as Promise<TableRoundAnswers[K]>;
  }

  /** Commits what is queued, closes the file and stops the worker. Bounded by `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    if (this.#state === "open" || this.#state === "opening") {
      this.#state = "closing";
      this.#sendOutbox();
      // Stopped first, so that the writer's closing checkpoint has the file to itself.
      await this.#checkpointer?.stop(timeoutMs);
      this.#post({ type: "close" });
    }
    const timer = setTimeout(
      () => this.#die(`writer did not close within ${timeoutMs} ms`),
      timeoutMs,
    );
    await this.#closed.promise;
    clearTimeout(timer);
    this.#worker.terminate();
    this.#checkpointer?.terminate();
  }

  /** Fault injection for tests: stops the writer thread the way a crash of it would. */
  terminateWorker(): void {
    this.#worker.terminate();
  }

  /** Fault injection for tests: stops the checkpointer thread. */
  terminateCheckpointer(): void {
    this.#checkpointer?.terminate();
  }

  #post(message: ToWriter | unknown[]): void {
    this.#worker.postMessage(message);
  }

  #sendOutbox(): void {
    this.#outboxScheduled = false;
    if (this.#outbox.length === 0) return;
    const writes = this.#outbox;
    this.#outbox = [];
    const flat = this.#encode(writes);
    if (flat.length === 1) return;
    try {
      this.#post(flat);
    } catch {
      // A value the structured clone cannot copy (a function, a symbol) somewhere in the batch.
      for (const numbered of writes) this.#postAlone(numbered);
    }
  }

  /** One flat message; a write whose shape cannot be read is refused at once (nothing sent). */
  #encode(writes: readonly NumberedWrite[]): unknown[] {
    const flat: unknown[] = [writesTag];
    for (const { id, write } of writes) {
      const length = flat.length;
      try {
        appendWrite(flat, id, write);
      } catch (error) {
        flat.length = length;
        this.#settle(id, { error: `write cannot be encoded: ${String(error)}` });
      }
    }
    return flat;
  }

  #postAlone(numbered: NumberedWrite): void {
    if (!this.#pending.has(numbered.id)) return;
    try {
      this.#post(this.#encode([numbered]));
    } catch (error) {
      this.#settle(numbered.id, { error: `write cannot be encoded: ${String(error)}` });
    }
  }

  #settle(id: number, result: WriteResult): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return;
    this.#pending.delete(id);
    if ("outcome" in result) pending.resolve(result.outcome);
    else pending.reject(new CroupierError("INTERNAL", `ledger refused the write: ${result.error}`));
  }

  /** One committed batch: every write's result, in batch order. */
  #receiveResults(flat: readonly unknown[]): void {
    this.#lastBatchFailed = false;
    let writes = 0;
    const busyMs = decodeResults(flat, (id, result) => {
      writes += 1;
      this.#settle(id, result);
    });
    this.#stats.batches += 1;
    this.#stats.writes += writes;
    this.#stats.batchWritesMax = Math.max(this.#stats.batchWritesMax, writes);
    this.#stats.workerBusyMs += busyMs;
  }

  #receive(message: FromWriter): void {
    switch (message.type) {
      case "opened":
        if (this.#state === "opening") this.#state = "open";
        this.#opened.resolve(message.durability);
        break;
      case "open_failed": {
        const reason = `ledger could not be opened: ${message.message}`;
        this.#die(reason, message.locked ? new LedgerLockedError(reason) : undefined);
        break;
      }
      case "wal_restarted":
        this.#stats.walRestarts += 1;
        this.#stats.walRestartMsMax = Math.max(this.#stats.walRestartMsMax, message.ms);
        break;
      case "batch_failed":
        this.#lastBatchFailed = true;
        this.#stats.batchesFailed += 1;
        this.#stats.workerBusyMs += message.busyMs;
        for (const id of message.ids)
          this.#settle(id, { error: `${batchFailedMessage}: ${message.message}` });
        break;
      case "limits_set":
        answerControl(this.#pendingLimits, message, message.limits, "limits were not stored");
        break;
      case "table_round_done":
        answerControl(this.#pendingRounds, message, message.answer, "table round step failed");
        break;
      case "recovered":
        this.#lastBatchFailed = false;
        break;
      case "closed":
        this.#state = "closed";
        this.#failAll("ledger closed before answering");
        this.#closed.resolve();
        break;
      default:
        assertNever(message);
    }
  }

  /** The worker is gone: no answer will come, so every outstanding write is in doubt. */
  #die(reason: string, openError: Error = new CroupierError("INTERNAL", reason)): void {
    if (this.#state === "closed" || this.#state === "dead") return;
    this.#state = "dead";
    this.#failAll(reason);
    this.#opened.reject(openError);
    this.#closed.resolve();
    this.#worker.terminate();
    this.#checkpointer?.terminate();
  }

  #failAll(reason: string): void {
    this.#outbox = [];
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { reject } of pending) reject(new CroupierError("INTERNAL", reason));
    const limits = [...this.#pendingLimits.values()];
    this.#pendingLimits.clear();
    for (const { reject } of limits) reject(new CroupierError("INTERNAL", reason));
    const rounds = [...this.#pendingRounds.values()];
    this.#pendingRounds.clear();
    for (const { reject } of rounds) reject(new CroupierError("INTERNAL", reason));
  }
}
