import type {
  AccountName,
  EntryKind,
  PlayerLimits,
  Posting,
  RoundRecord,
  WalletWrite,
} from "../ledger.ts";
import type {
  CloseOutcome,
  NewTableRound,
  TableRoundLink,
  TableRoundStatus,
} from "../tableRounds.ts";
import type { WriteResult } from "./batchWriter.ts";
import type { Durability, WriterPragmas } from "./schema.ts";

/**
 * Messages between the main thread and the writer worker. The two hot messages, a batch of writes
 * and a batch of results, travel as one flat array of strings, numbers and nulls: Bun clones such
 * an array on a fast path (no byte-stream serialisation, no JSON escaping of the JSON texts inside
 * a write). Control messages are rare and travel as plain objects.
 */

export interface WriterSettings {
  path: string;
  pragmas: WriterPragmas;
  groupCommitWindowMs: number;
  groupCommitWritesMax: number;
  recoveryProbeMs: number;
  /** The main thread never has more outstanding; the worker asserts its queue stays below it. */
  queueMax: number;
  /** Raised by the checkpointer when the writer should restart the WAL (see checkpointer.ts). */
  restartSignal: SharedArrayBuffer;
}

/** A write with the number the main thread uses to settle its promise. */
export interface NumberedWrite {
  id: number;
  write: WalletWrite;
}

/** First element of a flat writes message, then per write: see `appendWrite`. */
export const writesTag = "writes";
/** First element of a flat results message, then busyMs, then per write: id, code, value. */
export const resultsTag = "results";

/** A step of a table round's life, or a seat change (tableRounds.ts), each a transaction of its own. */
export type TableRoundOp =
  | { kind: "open"; round: NewTableRound }
  | { kind: "close"; roundId: string }
  | { kind: "settle"; roundId: string; result: number }
  | { kind: "void"; roundId: string }
  | { kind: "mark_paid"; roundId: string }
  | { kind: "seat"; table: string; playerId: string; seated: boolean };

/** What each table-round step answers. */
export interface TableRoundAnswers {
  open: boolean;
  close: CloseOutcome;
  settle: boolean;
  void: boolean;
  mark_paid: boolean;
  seat: boolean;
}

export type TableRoundAnswer = TableRoundAnswers[TableRoundOp["kind"]];

/** Control messages to the writer; writes travel flat (`appendWrite`). */
export type ToWriter =
  | { type: "open"; settings: WriterSettings }
  /**
   * Store a player's limits in a transaction of their own, after the writes queued before;
   * answered with "limits_set".
   */
  | { type: "set_limits"; id: number; playerId: string; limits: PlayerLimits }
  /** Apply a table-round step the same way; answered with "table_round_done". */
  | { type: "table_round"; id: number; op: TableRoundOp }
  /** Commit everything queued, checkpoint, close the file, answer "closed". */
  | { type: "close" };

/** Control messages from the writer; results travel flat (`encodeResults`). */
export type FromWriter =
  | { type: "opened"; durability: Durability }
  /** `locked`: another writer holds the file (writerLock.ts). */
  | { type: "open_failed"; message: string; locked: boolean }
  /** The transaction failed: each of these writes is in doubt until the ledger is read again. */
  | { type: "batch_failed"; ids: number[]; message: string; busyMs: number }
  /** After a failed transaction, a probe write committed again. */
  | { type: "recovered" }
  /** The writer checkpointed the rest of the WAL (taking `ms`) so that it starts over. */
  | { type: "wal_restarted"; ms: number }
  | { type: "limits_set"; id: number; limits?: PlayerLimits; message?: string }
  /** `answer` when the step ran (whatever its compare-and-set found), else why it failed. */
  | { type: "table_round_done"; id: number; answer?: TableRoundAnswer; message?: string }
  | { type: "closed" };

/** Flags of a flat write. */
const eventIsReply = 1;
const hasRound = 2;
/** A wager is present, whatever its amount (a malformed one must reach the worker's check). */
const hasWager = 4;
/** Elements of a flat write before its postings; each posting then takes three. */
const writeHeaderLength = 14;
const postingLength = 3;

/**
 * Appends one write: id, flags, playerId, commandId, requestHash, seq, reply, event (null when it
 * is the reply), roundId, game, detail, postings count, wager amount (as given; the flags say
 * whether there is a wager), table
 * round (JSON text, null when none), then account, amount, kind per posting.
 * Values are copied as they are, so a malformed write stays malformed and the worker refuses it.
 * The table round, rare and nested, goes as one JSON text; the writes without one (every spin)
 * add a null and no JSON work.
 * Throws on a write whose shape cannot be read (postings not an array, a null round or posting,
 * a table round JSON cannot hold).
 */
export function appendWrite(flat: unknown[], id: number, write: WalletWrite): void {
  const { round, postings } = write;
  if (!Array.isArray(postings)) throw new TypeError("postings must be an array");
  const sameEvent = write.event === write.reply;
  const { wager } = write;
  flat.push(
    id,
    (sameEvent ? eventIsReply : 0) |
      (round === undefined ? 0 : hasRound) |
      (wager === undefined ? 0 : hasWager),
  );
  flat.push(write.playerId, write.commandId, write.requestHash, write.seq, write.reply);
  flat.push(sameEvent ? null : write.event);
  if (round === undefined) flat.push(null, null, null);
  else flat.push(round.roundId, round.game, round.detail);
  flat.push(postings.length);
  flat.push(wager === undefined ? null : (wager as { amount?: unknown } | null)?.amount);
  const { tableRound } = write;
  if (tableRound === undefined) flat.push(null);
  else {
    // JSON.stringify gives undefined for a function or symbol: dropping the link would turn a
    // table bet into a write the worker does not check against its round.
    const json: string | undefined = JSON.stringify(tableRound);
    if (json === undefined) throw new TypeError("tableRound cannot be encoded as JSON");
    flat.push(json);
  }
  for (const posting of postings) flat.push(posting.account, posting.amount, posting.kind ?? null);
}

export function decodeWrites(flat: readonly unknown[]): NumberedWrite[] {
  const writes: NumberedWrite[] = [];
  let at = 1;
  while (at < flat.length) {
    const flags = flat[at + 1] as number;
    const reply = flat[at + 6] as string;
    const count = flat[at + 11] as number;
    const postings: Posting[] = [];
    for (let n = 0, p = at + writeHeaderLength; n < count; n++, p += postingLength) {
      const posting: Posting = { account: flat[p] as AccountName, amount: flat[p + 1] as number };
      if (flat[p + 2] !== null) posting.kind = flat[p + 2] as EntryKind;
      postings.push(posting);
    }
    const write: WalletWrite = {
      playerId: flat[at + 2] as string,
      commandId: flat[at + 3] as string,
      requestHash: flat[at + 4] as string,
      seq: flat[at + 5] as number,
      postings,
      reply,
      event: flags & eventIsReply ? reply : (flat[at + 7] as string),
    };
    if (flags & hasWager) write.wager = { amount: flat[at + 12] as number };
    if (flat[at + 13] !== null)
      write.tableRound = JSON.parse(flat[at + 13] as string) as TableRoundLink;
    if (flags & hasRound) {
      write.round = {
        roundId: flat[at + 8],
        game: flat[at + 9],
        detail: flat[at + 10],
      } as RoundRecord;
    }
    writes.push({ id: flat[at] as number, write });
    at += writeHeaderLength + count * postingLength;
  }
  return writes;
}

/** Result codes of a flat results message; the value after each says what the code needs. */
const resultCodes = {
  committed: 0, // value: balance
  duplicate: 1, // value: the stored reply
  conflict: 2,
  insufficient_funds: 3,
  stale_seq: 4, // value: currentSeq
  error: 5, // value: why the write was refused
  self_excluded: 6,
  loss_limit: 7,
  round_closed: 8, // value: the round's status, null for no such round
} as const;

export function encodeResults(
  ids: readonly number[],
  results: readonly WriteResult[],
  busyMs: number,
) {
  const flat: (string | number | null)[] = [resultsTag, busyMs];
  results.forEach((result, index) => {
    flat.push(ids[index] as number);
    if ("error" in result) {
      flat.push(resultCodes.error, result.error);
      return;
    }
    const { outcome } = result;
    switch (outcome.status) {
      case "committed":
        flat.push(resultCodes.committed, outcome.balance);
        break;
      case "duplicate":
        flat.push(resultCodes.duplicate, outcome.reply);
        break;
      case "stale_seq":
        flat.push(resultCodes.stale_seq, outcome.currentSeq);
        break;
      case "round_closed":
        flat.push(resultCodes.round_closed, outcome.roundStatus);
        break;
      default:
        flat.push(resultCodes[outcome.status], 0);
    }
  });
  return flat;
}

function decodeResult(code: number, value: unknown): WriteResult {
  switch (code) {
    case resultCodes.committed:
      return { outcome: { status: "committed", balance: value as number } };
    case resultCodes.duplicate:
      return { outcome: { status: "duplicate", reply: value as string } };
    case resultCodes.stale_seq:
      return { outcome: { status: "stale_seq", currentSeq: value as number } };
    case resultCodes.conflict:
      return { outcome: { status: "conflict" } };
    case resultCodes.insufficient_funds:
      return { outcome: { status: "insufficient_funds" } };
    case resultCodes.self_excluded:
      return { outcome: { status: "self_excluded" } };
    case resultCodes.loss_limit:
      return { outcome: { status: "loss_limit" } };
    case resultCodes.round_closed:
      return {
        outcome: { status: "round_closed", roundStatus: value as TableRoundStatus | null },
      };
    default:
      return { error: String(value) };
  }
}

/** Calls `settle` per result in batch order; returns the worker's busy time of the batch. */
export function decodeResults(
  flat: readonly unknown[],
  settle: (id: number, result: WriteResult) => void,
): number {
  for (let at = 2; at < flat.length; at += 3) {
    settle(flat[at] as number, decodeResult(flat[at + 1] as number, flat[at + 2]));
  }
  return flat[1] as number;
}

/** Tells a flat message (writes or results) from a control message. */
export function isFlat(data: unknown): data is unknown[] {
  return Array.isArray(data);
}
