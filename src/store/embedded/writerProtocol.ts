import type { WalletWrite } from "../ledger.ts";
import type { WriteResult } from "./batchWriter.ts";
import type { Durability, WriterPragmas } from "./schema.ts";

/**
 * Messages between the main thread and the writer worker. Both directions travel as JSON text:
 * Bun posts a plain string without structured cloning, which measured about three times cheaper
 * for a batch of a thousand nested write objects.
 */

export interface WriterSettings {
  path: string;
  pragmas: WriterPragmas;
  groupCommitWindowMs: number;
  groupCommitWritesMax: number;
  recoveryProbeMs: number;
  /** The main thread never has more outstanding; the worker asserts its queue stays below it. */
  queueMax: number;
}

/** A write with the number the main thread uses to settle its promise. */
export interface NumberedWrite {
  id: number;
  write: WalletWrite;
}

export type ToWriter =
  | { type: "open"; settings: WriterSettings }
  | { type: "writes"; writes: NumberedWrite[] }
  /** Commit everything queued, checkpoint, close the file, answer "closed". */
  | { type: "close" };

export type FromWriter =
  | { type: "opened"; durability: Durability }
  | { type: "open_failed"; message: string }
  /** One committed batch: every write's result, in batch order. */
  | { type: "results"; results: [number, WriteResult][]; busyMs: number }
  /** The transaction failed and was rolled back: none of these writes committed. */
  | { type: "batch_failed"; ids: number[]; message: string; busyMs: number }
  /** After a failed transaction, a probe write committed again. */
  | { type: "recovered" }
  | { type: "closed" };

export function encode(message: ToWriter | FromWriter): string {
  return JSON.stringify(message);
}

export function decodeToWriter(data: unknown): ToWriter {
  if (typeof data !== "string") throw new TypeError("writer message is not text");
  return JSON.parse(data) as ToWriter;
}

export function decodeFromWriter(data: unknown): FromWriter {
  if (typeof data !== "string") throw new TypeError("writer reply is not text");
  return JSON.parse(data) as FromWriter;
}
