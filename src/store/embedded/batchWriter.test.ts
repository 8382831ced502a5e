import type { Database } from "bun:sqlite";
import { afterAll, afterEach, beforeEach, expect, test } from "bun:test";
import { auditSqliteLedger } from "../audit.ts";
import { depositWrite, spinWrite } from "../ledgerContract.ts";
import { type BatchWriter, createBatchWriter, type WriteResult } from "./batchWriter.ts";
import { removeDataDirs } from "./testing/tempLedger.ts";
import {
  boomWrite,
  failPostingsToBoom,
  openSecondWriterDatabase,
  openTestWriterDatabase,
} from "./testing/writerDatabase.ts";

afterAll(removeDataDirs);

let db: Database;
let writer: BatchWriter;

beforeEach(async () => {
  db = await openTestWriterDatabase();
  writer = createBatchWriter(db);
});

afterEach(() => {
  expect(auditSqliteLedger(db).failures).toEqual([]);
  db.close();
});

function statuses(results: WriteResult[]): string[] {
  return results.map((result) => ("outcome" in result ? result.outcome.status : "error"));
}

function player(playerId: string) {
  return db.query("SELECT balance, seq FROM players WHERE player_id = ?").get(playerId);
}

function journalRows(playerId: string, commandId: string): number {
  const row = db
    .query<{ rows: number }, [string, string]>(
      "SELECT COUNT(*) AS rows FROM journal WHERE player_id = ? AND command_id = ?",
    )
    .get(playerId, commandId);
  return row?.rows ?? -1;
}

test("ledger - a write failing after its first insert stores nothing and its batch commits", () => {
  writer.commit([depositWrite("a", 1, "d1", 100), depositWrite("b", 1, "d1", 100)], 1);
  failPostingsToBoom(db, "ABORT");
  const results = writer.commit(
    [spinWrite("a", 2, "s1", 10, 0), boomWrite("b", 2, "x1"), spinWrite("b", 2, "s1", 10, 0)],
    2,
  );
  expect(statuses(results)).toEqual(["committed", "error", "committed"]);
  expect(results[1]).toMatchObject({ error: expect.stringContaining("test trigger") });
  expect(journalRows("b", "x1")).toBe(0);
  expect(player("a")).toEqual({ balance: 90, seq: 2 });
  expect(player("b")).toEqual({ balance: 90, seq: 2 });
});

test("ledger - after a rolled-back batch the next write sees the stored state, not the batch's", () => {
  writer.commit([depositWrite("a", 1, "d1", 100), depositWrite("b", 1, "d1", 100)], 1);
  // RAISE(ROLLBACK) ends the whole transaction: the batch fails after a's spin was applied.
  failPostingsToBoom(db, "ROLLBACK");
  expect(() => writer.commit([spinWrite("a", 2, "s1", 10, 0), boomWrite("b", 2, "x1")], 2)).toThrow(
    "test trigger",
  );
  expect(db.inTransaction).toBe(false);
  expect(player("a")).toEqual({ balance: 100, seq: 1 });
  // A stale copy of a at seq 2 would call this stale_seq; the file says seq 1.
  expect(statuses(writer.commit([spinWrite("a", 2, "s2", 30, 0)], 3))).toEqual(["committed"]);
  expect(player("a")).toEqual({ balance: 70, seq: 2 });
});

test("ledger - a round id used twice refuses only the second write", () => {
  writer.commit([depositWrite("a", 1, "d1", 100), depositWrite("b", 1, "d1", 100)], 1);
  const first = spinWrite("a", 2, "s1", 10, 0);
  const reused = { ...spinWrite("b", 2, "s1", 10, 0), round: first.round };
  const results = writer.commit([first, reused, spinWrite("a", 3, "s2", 10, 0)], 2);
  expect(statuses(results)).toEqual(["committed", "error", "committed"]);
  expect(journalRows("b", "s1")).toBe(0);
  expect(player("b")).toEqual({ balance: 100, seq: 1 });
  expect(player("a")).toEqual({ balance: 80, seq: 3 });
});

test("ledger - idempotency answers before fencing and funds within one batch", () => {
  const spin = spinWrite("a", 2, "s1", 30, 0);
  const results = writer.commit(
    [
      depositWrite("a", 1, "d1", 100),
      spin,
      spin, // retry at the same seq: stale by seq, a duplicate by id
      { ...spin, seq: 3 }, // retry at the next seq: the journal insert finds the id
      spinWrite("a", 3, "s2", 100, 0), // insufficient funds
      spinWrite("a", 3, "s1", 5, 0), // same id, other parameters
    ],
    1,
  );
  expect(results.map((result) => ("outcome" in result ? result.outcome : result))).toEqual([
    { status: "committed", balance: 100 },
    { status: "committed", balance: 70 },
    { status: "duplicate", reply: spin.reply },
    { status: "duplicate", reply: spin.reply },
    { status: "insufficient_funds" },
    { status: "conflict" },
  ]);
});

test("ledger - a write fenced by a stale cached seq is refused stale_seq and stores nothing", () => {
  writer.commit([depositWrite("a", 1, "d1", 100), spinWrite("a", 2, "s1", 10, 0)], 1);
  // Refused for want of funds, b is now cached as a player without writes.
  expect(statuses(writer.commit([spinWrite("b", 1, "s0", 10, 0)], 2))).toEqual([
    "insufficient_funds",
  ]);
  // Another writer on the same file (which the writer lock keeps out) moves both players on.
  const other = openSecondWriterDatabase(db);
  try {
    const otherResults = createBatchWriter(other).commit(
      [spinWrite("a", 3, "s2", 90, 0), depositWrite("b", 1, "d1", 50)],
      3,
    );
    expect(statuses(otherResults)).toEqual(["committed", "committed"]);
  } finally {
    other.close();
  }
  // The cache still says a is at seq 2 with 90 and b has no row: both writes pass fencing there.
  const results = writer.commit(
    [spinWrite("a", 3, "s3", 90, 0), depositWrite("b", 1, "d2", 70), depositWrite("c", 1, "d1", 5)],
    4,
  );
  expect(results.map((result) => ("outcome" in result ? result.outcome : result))).toEqual([
    { status: "stale_seq", currentSeq: 3 },
    { status: "stale_seq", currentSeq: 1 },
    { status: "committed", balance: 5 },
  ]);
  expect(journalRows("a", "s3")).toBe(0);
  expect(journalRows("b", "d2")).toBe(0);
  expect(player("a")).toEqual({ balance: 0, seq: 3 });
  expect(player("b")).toEqual({ balance: 50, seq: 1 });
  // The redo left the cache as the file is: the next write is fenced against the real row.
  expect(statuses(writer.commit([depositWrite("a", 4, "d2", 20)], 5))).toEqual(["committed"]);
  expect(player("a")).toEqual({ balance: 20, seq: 4 });
});
