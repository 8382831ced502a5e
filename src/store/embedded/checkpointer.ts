/**
 * The checkpointer thread: copies committed pages from the WAL back into `ledger.db` on its own
 * connection, every `checkpointIntervalMs`, so the writer never does that bulk work inside a
 * commit (a checkpoint of a large WAL stalled the writer for 50 ms and more).
 *
 * A PASSIVE checkpoint never blocks the writer and never weakens durability: it copies frames
 * already committed and syncs the database file before marking them copied. What it cannot do is
 * let the WAL start over: SQLite rewinds the WAL only when a write transaction begins with every
 * frame copied, and a busy writer begins its next transaction right after committing. So once the
 * WAL holds `walRestartPages` frames and a pass has caught up, this thread raises `restartSignal`;
 * the writer then checkpoints the few frames committed since, between two transactions, and its
 * next transaction rewinds the WAL. The writer's own autocheckpoint stays as the hard bound should
 * this thread fall behind or stop.
 */
import { assertNever } from "../../errors.ts";
import { closeNow, openCheckpointerDatabase } from "./schema.ts";

declare const self: Worker;

export interface CheckpointerSettings {
  path: string;
  busyTimeoutMs: number;
  checkpointIntervalMs: number;
  walRestartPages: number;
  /** One Int32: 1 while a restart is asked for; the writer swaps it back to 0. */
  restartSignal: SharedArrayBuffer;
}

export type ToCheckpointer = { type: "start"; settings: CheckpointerSettings } | { type: "stop" };

export type FromCheckpointer =
  | { type: "started" }
  | { type: "start_failed"; message: string }
  /** A pass failed; the next one is tried at the next interval. */
  | { type: "pass_failed"; message: string }
  | { type: "stopped" };

/** Passes run back to back at most per interval while each still finds new frames to copy. */
const passesPerIntervalMax = 3;

let timer: ReturnType<typeof setTimeout> | undefined;
let stopDatabase: (() => void) | undefined;

function post(message: FromCheckpointer): void {
  self.postMessage(message);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function start(settings: CheckpointerSettings): void {
  const db = openCheckpointerDatabase(settings.path, settings.busyTimeoutMs);
  const checkpoint = db.prepare<never, []>("PRAGMA wal_checkpoint(PASSIVE)");
  const signal = new Int32Array(settings.restartSignal);
  /** [busy, frames in the WAL, frames copied into the database] */
  const pass = () => (checkpoint.values()[0] ?? [0, 0, 0]) as number[];

  const tick = () => {
    try {
      let [, frames = 0, copied = 0] = pass();
      // A large WAL: also copy what was committed during that pass, then ask for the rewind.
      for (let passes = 1; passes < passesPerIntervalMax; passes++) {
        if (frames < settings.walRestartPages || copied === frames) break;
        [, frames = 0, copied = 0] = pass();
      }
      if (frames >= settings.walRestartPages && copied === frames) Atomics.store(signal, 0, 1);
    } catch (error) {
      post({ type: "pass_failed", message: errorText(error) });
    }
    timer = setTimeout(tick, settings.checkpointIntervalMs);
  };
  timer = setTimeout(tick, settings.checkpointIntervalMs);
  stopDatabase = () => closeNow(db);
}

self.onmessage = (event: MessageEvent<ToCheckpointer>) => {
  const message = event.data;
  switch (message.type) {
    case "start":
      try {
        start(message.settings);
        post({ type: "started" });
      } catch (error) {
        post({ type: "start_failed", message: errorText(error) });
      }
      break;
    case "stop":
      if (timer !== undefined) clearTimeout(timer);
      try {
        stopDatabase?.();
      } catch (error) {
        post({ type: "pass_failed", message: `close: ${errorText(error)}` });
      }
      post({ type: "stopped" });
      break;
    default:
      assertNever(message);
  }
};
