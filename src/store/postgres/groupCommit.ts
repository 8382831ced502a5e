import { CroupierError } from "../../errors.ts";
import type { WalletWrite, WriteOutcome } from "../ledger.ts";
import type { WriteResult } from "./batchPlan.ts";

/**
 * Group commit: gathers writes into batches, runs at most `transactionsMax` batches at once, and
 * settles every write's promise after its batch's transaction ended (after COMMIT returned, for
 * writes that committed).
 *
 * - The first write queued while a transaction slot is free waits `windowMs` for others to join
 *   its batch; a queue of `writesMax` or more goes at once. Under load, writes gather while the
 *   previous batches commit, so batches grow by themselves.
 * - A player's writes are never in two transactions at once: a write whose player is in flight
 *   stays queued (in order) until that transaction ends. So a write sees every write issued
 *   before it, also across batches, and order per player is call order.
 * - Outstanding writes (queued or in a transaction) are bounded by `queueMax`: past it `submit`
 *   refuses at once with BUSY.
 */

export interface GroupCommitSettings {
  windowMs: number;
  writesMax: number;
  queueMax: number;
  transactionsMax: number;
}

/** Commits a batch; resolves with one result per write, or throws for the batch as a whole. */
export type CommitBatch = (writes: readonly WalletWrite[]) => Promise<WriteResult[]>;

interface Pending {
  write: WalletWrite;
  resolve(outcome: WriteOutcome): void;
  reject(error: CroupierError): void;
}

/** Below twice this many eligible writes, one transaction takes them all. */
export const splitWritesMin = 32;

export interface GroupCommitStats {
  /** Transactions run (committed or not). */
  batches: number;
  /** Writes answered by those transactions (any outcome). */
  writes: number;
  batchWritesMax: number;
  batchesFailed: number;
}

export class GroupCommit {
  readonly #settings: GroupCommitSettings;
  readonly #commitBatch: CommitBatch;
  /** Not yet in a transaction, in call order. Bounded with the in-flight ones by `queueMax`. */
  #queue: Pending[] = [];
  #inFlightWrites = 0;
  #inFlightBatches = 0;
  readonly #busyPlayers = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #accepting = true;
  #idle = Promise.withResolvers<void>();
  readonly stats: GroupCommitStats = { batches: 0, writes: 0, batchWritesMax: 0, batchesFailed: 0 };

  constructor(settings: GroupCommitSettings, commitBatch: CommitBatch) {
    this.#settings = settings;
    this.#commitBatch = commitBatch;
    this.#idle.resolve();
  }

  get outstanding(): number {
    return this.#queue.length + this.#inFlightWrites;
  }

  submit(write: WalletWrite): Promise<WriteOutcome> {
    if (!this.#accepting) {
      return Promise.reject(new CroupierError("BUSY", "ledger is closing; nothing was written"));
    }
    const { queueMax } = this.#settings;
    if (this.outstanding >= queueMax) {
      return Promise.reject(
        new CroupierError("BUSY", `ledger queue is full (${queueMax} writes outstanding)`),
      );
    }
    if (this.outstanding === 0) this.#idle = Promise.withResolvers<void>();
    const { promise, resolve, reject } = Promise.withResolvers<WriteOutcome>();
    this.#queue.push({ write, resolve, reject });
    this.#schedule();
    return promise;
  }

  /** Refuses new writes, commits the queued ones; resolves when none is outstanding. */
  drain(): Promise<void> {
    this.#accepting = false;
    // No reason to wait out a window for writes that can no longer come.
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#schedule(true);
    return this.#idle.promise;
  }

  /** Refuses every queued write with BUSY (nothing of them was sent). */
  refuseQueued(reason: string): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const queued = this.#queue;
    this.#queue = [];
    for (const pending of queued) pending.reject(new CroupierError("BUSY", reason));
    this.#maybeIdle();
  }

  /** `waited`: the queued writes already waited a window (the rest of a batch just started). */
  #schedule(waited = false): void {
    const { windowMs, writesMax, transactionsMax } = this.#settings;
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    if (this.#inFlightBatches >= transactionsMax) return;
    const waitMs = waited || this.#queue.length >= writesMax || !this.#accepting ? 0 : windowMs;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#startBatch();
    }, waitMs);
  }

  /**
   * Takes the queued writes whose players are not in flight, in order: a full batch at most, and
   * a share of them when other transaction slots are free, so that a large queue goes out as
   * concurrent transactions (one checks and inserts while another commits) instead of one big
   * transaction that leaves every other slot idle.
   */
  #take(): Pending[] {
    const { writesMax, transactionsMax } = this.#settings;
    let eligible = 0;
    for (const pending of this.#queue) {
      if (!this.#busyPlayers.has(pending.write.playerId)) eligible += 1;
    }
    const freeSlots = transactionsMax - this.#inFlightBatches;
    const share = eligible < 2 * splitWritesMin ? eligible : Math.ceil(eligible / freeSlots);
    const limit = Math.min(writesMax, share);
    const taken: Pending[] = [];
    const kept: Pending[] = [];
    for (const pending of this.#queue) {
      if (taken.length < limit && !this.#busyPlayers.has(pending.write.playerId)) {
        taken.push(pending);
      } else {
        kept.push(pending);
      }
    }
    this.#queue = kept;
    return taken;
  }

  #startBatch(): void {
    const batch = this.#take();
    if (batch.length === 0) return; // every queued player is in flight: its batch reschedules
    const players = new Set(batch.map((pending) => pending.write.playerId));
    for (const player of players) this.#busyPlayers.add(player);
    this.#inFlightBatches += 1;
    this.#inFlightWrites += batch.length;
    this.#commitBatch(batch.map((pending) => pending.write)).then(
      (results) => this.#answer(batch, players, results),
      (error: unknown) => this.#answer(batch, players, error),
    );
    this.#schedule(true);
  }

  /** Settles every write of a finished batch: its own result, or the batch's failure. */
  #answer(batch: Pending[], players: Set<string>, answer: WriteResult[] | unknown): void {
    for (const player of players) this.#busyPlayers.delete(player);
    this.#inFlightBatches -= 1;
    this.#inFlightWrites -= batch.length;
    this.stats.batches += 1;
    this.stats.writes += batch.length;
    this.stats.batchWritesMax = Math.max(this.stats.batchWritesMax, batch.length);
    if (Array.isArray(answer) && answer.length === batch.length) {
      batch.forEach((pending, index) => {
        const result = answer[index] as WriteResult;
        if ("outcome" in result) pending.resolve(result.outcome);
        else
          pending.reject(
            new CroupierError("INTERNAL", `ledger refused the write: ${result.error}`),
          );
      });
    } else {
      this.stats.batchesFailed += 1;
      const failure =
        answer instanceof CroupierError
          ? answer
          : new CroupierError("INTERNAL", `ledger transaction failed: ${String(answer)}`, {
              cause: answer,
            });
      for (const pending of batch) pending.reject(failure);
    }
    this.#schedule();
    this.#maybeIdle();
  }

  #maybeIdle(): void {
    if (this.outstanding === 0) this.#idle.resolve();
  }
}
