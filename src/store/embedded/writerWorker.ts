/**
 * The writer thread: the only connection that writes `ledger.db`, under the file's writer lock
 * (writerLock.ts), taken before the file is opened and freed once it is closed. It queues the
 * writes the main thread posts and group-commits them, up to `groupCommitWritesMax` per
 * transaction (when, and how many: groupCommit.ts). SQLite work (and the fsync of every commit)
 * happens here, so the main event loop stays free for sockets. Between two transactions it starts
 * the WAL over when the checkpointer thread asks (see checkpointer.ts), and applies control steps
 * (limits, table-round steps), each after the writes queued before it.
 */
import type { Database, Statement } from "bun:sqlite";
import { assertNever } from "../../errors.ts";
import { type BatchWriter, createBatchWriter } from "./batchWriter.ts";
import { GroupCommitPolicy } from "./groupCommit.ts";
import { closeNow, openWriterDatabase, schemaVersion, verifyDurability } from "./schema.ts";
import { TableRoundSteps } from "./tableRounds.ts";
import { acquireWriterLock, LedgerLockedError, type WriterLock } from "./writerLock.ts";
import {
  decodeWrites,
  encodeResults,
  type FromWriter,
  isFlat,
  type NumberedWrite,
  type ToWriter,
  type WriterSettings,
} from "./writerProtocol.ts";

declare const self: Worker;

interface Open {
  lock: WriterLock;
  db: Database;
  writer: BatchWriter;
  rounds: TableRoundSteps;
  settings: WriterSettings;
  /** Raised by the checkpointer: checkpoint what is left, so the next transaction rewinds the WAL. */
  restartSignal: Int32Array;
  checkpoint: Statement<number[], []>;
  policy: GroupCommitPolicy;
}

let open: Open | undefined;
const queue: NumberedWrite[] = [];
let windowTimer: ReturnType<typeof setTimeout> | undefined;
let flushImmediate: ReturnType<typeof setImmediate> | undefined;
let probeTimer: ReturnType<typeof setTimeout> | undefined;

function post(message: FromWriter | unknown[]): void {
  self.postMessage(message);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Opens the file under its writer lock; on any failure neither stays open. */
function openLedger(settings: WriterSettings): void {
  let lock: WriterLock | undefined;
  let db: Database | undefined;
  try {
    lock = acquireWriterLock(settings.path);
    db = openWriterDatabase(settings.path, settings.pragmas);
    const durability = verifyDurability(db, settings.pragmas.busyTimeoutMs);
    open = {
      lock,
      db,
      writer: createBatchWriter(db),
      rounds: new TableRoundSteps(db),
      settings,
      restartSignal: new Int32Array(settings.restartSignal),
      checkpoint: db.prepare("PRAGMA wal_checkpoint(PASSIVE)"),
      policy: new GroupCommitPolicy(settings),
    };
    post({ type: "opened", durability });
    scheduleFilterFill(open);
  } catch (error) {
    if (db !== undefined) closeNow(db);
    lock?.release();
    post({
      type: "open_failed",
      message: errorText(error),
      locked: error instanceof LedgerLockedError,
    });
  }
}

/** Command ids read into the writer's filter per step: a few milliseconds between batches. */
const filterFillRowsPerStep = 10_000;

/**
 * Fills the command filter after opening, a step per turn, so that writes go on meanwhile
 * (each is looked up in SQLite until the filter is full) and opening does not grow with history.
 */
function scheduleFilterFill(state: Open): void {
  setImmediate(() => {
    if (open !== state) return;
    try {
      if (!state.writer.fillCommandFilter(filterFillRowsPerStep)) scheduleFilterFill(state);
    } catch {
      // A read that failed (I/O): the filter stays unready and every id is looked up.
    }
  });
}

function cancelScheduled(): void {
  if (windowTimer !== undefined) clearTimeout(windowTimer);
  if (flushImmediate !== undefined) clearImmediate(flushImmediate);
  windowTimer = undefined;
  flushImmediate = undefined;
}

/**
 * Flushes on the next turn, after the messages already delivered to this thread have been
 * queued, or after the window the policy asks for (see groupCommit.ts).
 */
function schedule(state: Open): void {
  if (queue.length === 0 || flushImmediate !== undefined) return;
  const waitMs = state.policy.waitMs(queue.length, performance.now());
  if (waitMs === 0) {
    cancelScheduled();
    flushImmediate = setImmediate(flush);
  } else if (windowTimer === undefined) {
    windowTimer = setTimeout(flush, waitMs);
  }
}

/**
 * After a failed transaction: a real write (the schema version rewritten in place, synced like
 * any commit) retried until it commits, then "recovered" is reported.
 */
function scheduleProbe(state: Open): void {
  if (probeTimer !== undefined) return;
  probeTimer = setTimeout(() => {
    probeTimer = undefined;
    if (open !== state) return;
    try {
      state.db.run("BEGIN IMMEDIATE");
      state.db.run(`PRAGMA user_version = ${schemaVersion}`);
      state.db.run("COMMIT");
      post({ type: "recovered" });
    } catch {
      if (state.db.inTransaction) state.db.run("ROLLBACK");
      scheduleProbe(state);
    }
  }, state.settings.recoveryProbeMs);
}

function cancelProbe(): void {
  if (probeTimer !== undefined) clearTimeout(probeTimer);
  probeTimer = undefined;
}

/** Commits one batch and answers for all of it in one message. */
function flushOnce(state: Open): void {
  const batch = queue.splice(0, state.policy.take(queue.length));
  if (batch.length === 0) return;
  const startedMs = performance.now();
  try {
    const results = state.writer.commit(
      batch.map((numbered) => numbered.write),
      Date.now(),
    );
    const ids = batch.map((numbered) => numbered.id);
    cancelProbe();
    post(encodeResults(ids, results, performance.now() - startedMs));
    if (Atomics.exchange(state.restartSignal, 0, 0) === 1) restartWal(state);
    state.policy.committed(performance.now(), queue.length);
  } catch (error) {
    state.policy.committed(performance.now(), queue.length);
    scheduleProbe(state);
    post({
      type: "batch_failed",
      ids: batch.map((numbered) => numbered.id),
      message: errorText(error),
      busyMs: performance.now() - startedMs,
    });
  }
}

/** Copies what was committed since the checkpointer's last pass; the next transaction rewinds. */
function restartWal(state: Open): void {
  const startedMs = performance.now();
  try {
    const [busy, frames, copied] = state.checkpoint.values()[0] ?? [];
    // Busy (the checkpointer is in a pass) or not all copied: its next pass asks again.
    if (busy === 0 && frames === copied) {
      post({ type: "wal_restarted", ms: performance.now() - startedMs });
    }
  } catch {
    // Nothing is lost: the frames stay in the WAL, and the next signal or autocheckpoint retries.
  }
}

function flush(): void {
  cancelScheduled();
  if (open === undefined) return;
  flushOnce(open);
  // What is left has already waited for a full batch ahead of it: no further window.
  if (queue.length > 0) flushImmediate = setImmediate(flush);
}

function enqueue(writes: NumberedWrite[]): void {
  if (open === undefined) {
    post({
      type: "batch_failed",
      ids: writes.map((w) => w.id),
      message: "ledger is not open",
      busyMs: 0,
    });
    return;
  }
  for (const write of writes) queue.push(write);
  // The main thread bounds outstanding writes; more here means that bound is broken.
  if (queue.length > open.settings.queueMax) {
    throw new Error(`writer queue ${queue.length} exceeds queueMax ${open.settings.queueMax}`);
  }
  schedule(open);
}

/**
 * Commits every write queued so far, so that a control message sent after them applies after
 * them too (a round closes after the bets sent before the close). Bounded: each pass takes up
 * to a full batch off a queue no longer than queueMax.
 */
function drain(state: Open): void {
  cancelScheduled();
  const passesMax = Math.ceil(state.settings.queueMax / state.settings.groupCommitWritesMax) + 1;
  for (let pass = 0; pass < passesMax && queue.length > 0; pass++) flushOnce(state);
}

function setLimits(message: Extract<ToWriter, { type: "set_limits" }>): void {
  if (open === undefined) {
    post({ type: "limits_set", id: message.id, message: "ledger is not open" });
    return;
  }
  try {
    drain(open);
    const limits = open.writer.setLimits(message.playerId, message.limits);
    post({ type: "limits_set", id: message.id, limits });
  } catch (error) {
    post({ type: "limits_set", id: message.id, message: errorText(error) });
  }
}

function tableRound(message: Extract<ToWriter, { type: "table_round" }>): void {
  if (open === undefined) {
    post({ type: "table_round_done", id: message.id, message: "ledger is not open" });
    return;
  }
  try {
    drain(open);
    const answer = open.rounds.apply(message.op, Date.now());
    post({ type: "table_round_done", id: message.id, answer });
  } catch (error) {
    post({ type: "table_round_done", id: message.id, message: errorText(error) });
  }
}

function close(): void {
  cancelScheduled();
  cancelProbe();
  const state = open;
  open = undefined;
  if (state !== undefined) {
    drain(state);
    try {
      state.db.run("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch {
      // A reader may hold the WAL; the next open recovers from it either way.
    }
    closeNow(state.db);
    // Only once the file is closed may the next writer take it.
    state.lock.release();
  }
  post({ type: "closed" });
}

self.onmessage = (event: MessageEvent<ToWriter | unknown[]>) => {
  const message = event.data;
  if (isFlat(message)) {
    enqueue(decodeWrites(message));
    return;
  }
  switch (message.type) {
    case "open":
      openLedger(message.settings);
      break;
    case "set_limits":
      setLimits(message);
      break;
    case "table_round":
      tableRound(message);
      break;
    case "close":
      close();
      break;
    default:
      assertNever(message);
  }
};
