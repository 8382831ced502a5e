import type { Database } from "bun:sqlite";
import { afterAll, afterEach, beforeEach, expect, test } from "bun:test";
import { auditSqliteLedger } from "../audit.ts";
import { depositWrite, spinWrite } from "../ledgerContract.ts";
import { type BatchWriter, createBatchWriter, type WriteResult } from "./batchWriter.ts";
import { CommandIndex, type CommandIndexLimits } from "./commandIndex.ts";
import { removeDataDirs } from "./testing/tempLedger.ts";
import { boomWrite, failPostingsToBoom, openTestWriterDatabase } from "./testing/writerDatabase.ts";

afterAll(removeDataDirs);

/** Small limits, so that merges happen within a few writes. */
const limits: CommandIndexLimits = { commandsPerMergeMin: 4, unindexedRowsBehindMax: 10 };

let db: Database;
let writer: BatchWriter;

beforeEach(async () => {
  db = await openTestWriterDatabase();
  writer = createBatchWriter(db, limits);
});

afterEach(() => {
  expect(auditSqliteLedger(db).failures).toEqual([]);
  db.close();
});

function statuses(results: WriteResult[]): string[] {
  return results.map((result) => ("outcome" in result ? result.outcome.status : "error"));
}

function indexed(playerId: string): string[] {
  return db
    .query<{ id: string }, [string]>(
      "SELECT command_id AS id FROM command_index WHERE player_id = ? ORDER BY command_id",
    )
    .all(playerId)
    .map((row) => row.id);
}

function indexedThrough(playerId: string): number | undefined {
  return db
    .query<{ through: number }, [string]>(
      "SELECT indexed_through AS through FROM players WHERE player_id = ?",
    )
    .get(playerId)?.through;
}

/** The floor as stored; a new file has no row, which means the first row. */
function floor(): number {
  return (
    db
      .query<{ id: number }, []>("SELECT journal_id AS id FROM command_index_floor WHERE id = 1")
      .get()?.id ?? 1
  );
}

function lastJournalId(): number {
  return db.query<{ id: number }, []>("SELECT max(id) AS id FROM journal").get()?.id ?? 0;
}

/** A deposit d1 (seq 1), then `spins` spins of 1: s1 (seq 2), s2 (seq 3), ...; a transaction each. */
function play(playerId: string, spins: number): void {
  expect(statuses(writer.commit([depositWrite(playerId, 1, "d1", 1_000)], 1))).toEqual([
    "committed",
  ]);
  for (let n = 1; n <= spins; n++) {
    expect(statuses(writer.commit([spinWrite(playerId, n + 1, `s${n}`, 1, 0)], n + 1))).toEqual([
      "committed",
    ]);
  }
}

test("ledger - a player's commands go into the index together, and are found before and after", () => {
  play("a", 2);
  expect(indexed("a")).toEqual([]);
  // Retries while the commands are only in the journal and in memory.
  expect(writer.commit([spinWrite("a", 9, "s1", 1, 0)], 5)[0]).toEqual({
    outcome: { status: "duplicate", reply: spinWrite("a", 2, "s1", 1, 0).reply },
  });
  expect(statuses(writer.commit([spinWrite("a", 4, "s2", 5, 0)], 5))).toEqual(["conflict"]);
  expect(statuses(writer.commit([spinWrite("a", 4, "s3", 1, 0)], 5))).toEqual(["committed"]);
  // The fourth command (d1, s1, s2, s3) put all of them into the index at once.
  expect(indexed("a")).toEqual(["d1", "s1", "s2", "s3"]);
  expect(indexedThrough("a")).toBe(lastJournalId());
  expect(writer.commit([spinWrite("a", 9, "s1", 1, 0)], 6)[0]).toEqual({
    outcome: { status: "duplicate", reply: spinWrite("a", 2, "s1", 1, 0).reply },
  });
  expect(statuses(writer.commit([depositWrite("a", 9, "s3", 1)], 6))).toEqual(["conflict"]);
  expect(statuses(writer.commit([spinWrite("a", 5, "s4", 1, 0)], 7))).toEqual(["committed"]);
  expect(indexed("a")).toEqual(["d1", "s1", "s2", "s3"]);
});

test("ledger - a command used twice in one batch is applied once, whether indexed or not", () => {
  play("a", 2);
  const spin = spinWrite("a", 4, "s3", 1, 0);
  // s3 is the fourth command: it is indexed in this very transaction.
  expect(statuses(writer.commit([spin, spin, spinWrite("a", 5, "s3", 1, 0)], 5))).toEqual([
    "committed",
    "duplicate",
    "duplicate",
  ]);
  expect(indexed("a")).toContain("s3");
  expect(db.query("SELECT balance, seq FROM players").get()).toEqual({ balance: 997, seq: 4 });
});

test("ledger - a writer opened again finds the commands that were not indexed yet", () => {
  play("a", 2);
  play("b", 5);
  expect(indexed("a")).toEqual([]);
  const reopened = createBatchWriter(db, limits);
  expect(statuses(reopened.commit([spinWrite("a", 9, "s1", 1, 0)], 9))).toEqual(["duplicate"]);
  expect(statuses(reopened.commit([spinWrite("a", 9, "s2", 7, 0)], 9))).toEqual(["conflict"]);
  expect(statuses(reopened.commit([spinWrite("b", 9, "s5", 1, 0)], 9))).toEqual(["duplicate"]);
  expect(statuses(reopened.commit([spinWrite("a", 4, "s3", 1, 0)], 9))).toEqual(["committed"]);
  expect(new CommandIndex(db, limits).unindexedCount).toBe(
    db
      .query<{ n: number }, []>(
        "SELECT count(*) AS n FROM journal j JOIN players p USING (player_id) WHERE j.id > p.indexed_through",
      )
      .get()?.n ?? -1,
  );
});

test("ledger - the command of a write rolled back to its savepoint is forgotten", () => {
  play("a", 1);
  failPostingsToBoom(db, "ABORT");
  expect(statuses(writer.commit([boomWrite("a", 3, "x1")], 3))).toEqual(["error"]);
  db.run("DROP TRIGGER boom");
  // x1 was never stored: the id is still free.
  expect(statuses(writer.commit([depositWrite("a", 3, "x1", 10)], 4))).toEqual(["committed"]);
});

test("ledger - the commands of a batch whose transaction failed are forgotten", () => {
  play("a", 1);
  failPostingsToBoom(db, "ROLLBACK");
  expect(() => writer.commit([spinWrite("a", 3, "s2", 1, 0), boomWrite("b", 1, "x1")], 3)).toThrow(
    "test trigger",
  );
  db.run("DROP TRIGGER boom");
  // s2 was applied in the transaction that failed: a retry must apply it, not answer a reply
  // that was never committed.
  expect(statuses(writer.commit([spinWrite("a", 3, "s2", 1, 0)], 4))).toEqual(["committed"]);
  expect(db.query("SELECT balance, seq FROM players WHERE player_id = 'a'").get()).toEqual({
    balance: 998,
    seq: 3,
  });
});

test("ledger - commands far behind the newest row are indexed whatever their count", () => {
  play("old", 0);
  const oldRow = lastJournalId();
  expect(floor()).toBe(oldRow);
  // Three commands each, below the merge count; a row more than 10 behind is merged anyway.
  for (const player of ["p1", "p2", "p3", "p4"]) play(player, 2);
  expect(indexed("old")).toEqual(["d1"]);
  expect(indexedThrough("old")).toBe(oldRow);
  expect(floor()).toBeGreaterThan(oldRow);
  expect(floor()).toBeGreaterThanOrEqual(lastJournalId() - limits.unindexedRowsBehindMax);
  // What a reopened writer reads from the floor holds every command that is not indexed.
  const unindexedFromFloor = db
    .query<{ n: number }, [number]>("SELECT count(*) AS n FROM journal WHERE id >= ?")
    .get(floor())?.n;
  expect(new CommandIndex(db, limits).unindexedCount).toBeLessThanOrEqual(unindexedFromFloor ?? 0);
  expect(statuses(writer.commit([depositWrite("old", 9, "d1", 1_000)], 20))).toEqual(["duplicate"]);
});

test("ledger - the audit reports a command missing from the index, or below the floor", () => {
  play("a", 4);
  play("b", 1);
  const removed = db
    .query<{ journalId: number }, []>(
      "DELETE FROM command_index WHERE player_id = 'a' AND command_id = 's2' RETURNING journal_id AS journalId",
    )
    .get();
  expect(auditSqliteLedger(db).failures).toEqual([
    `command index: player a command s2 (journal row ${removed?.journalId}) is not indexed, though the player is indexed through it`,
  ]);
  db.run("INSERT INTO command_index VALUES ('a', 's2', ?)", [removed?.journalId ?? 0]);
  const before = floor();
  db.run("UPDATE command_index_floor SET journal_id = journal_id + 100");
  const failures = auditSqliteLedger(db).failures;
  expect(failures.length).toBeGreaterThan(0);
  expect(failures.every((line) => line.includes("is below the floor"))).toBe(true);
  db.run("UPDATE command_index_floor SET journal_id = ?", [before]);
  db.run("UPDATE command_index SET journal_id = journal_id + 1 WHERE command_id = 'd1'");
  expect(
    auditSqliteLedger(db).failures.some((line) => line.includes("which is not that command")),
  ).toBe(true);
  db.run("UPDATE command_index SET journal_id = journal_id - 1 WHERE command_id = 'd1'");
});

test("ledger - the filter is filled in steps after opening, and ids are found before, during and after", () => {
  for (const player of ["a", "b", "c"]) play(player, 5);
  const indexedIds = db
    .query<{ p: string; c: string }, []>(
      "SELECT player_id AS p, command_id AS c FROM command_index",
    )
    .all();
  expect(indexedIds.length).toBeGreaterThan(6);
  const reopened = createBatchWriter(db, limits);
  let steps = 0;
  let full = false;
  while (!full) {
    // A retry of every indexed command between steps: found whether the filter is full or not.
    for (const { p, c } of indexedIds) {
      expect(statuses(reopened.commit([depositWrite(p, 99, c, 1_000)], 9))).not.toEqual([
        "committed",
      ]);
    }
    full = reopened.fillCommandFilter(2);
    steps += 1;
  }
  expect(steps).toBeGreaterThan(3);
  expect(statuses(reopened.commit([spinWrite("a", 7, "s6", 1, 0)], 10))).toEqual(["committed"]);
  expect(statuses(reopened.commit([depositWrite("b", 99, "d1", 1_000)], 10))).toEqual([
    "duplicate",
  ]);
});

test("ledger - a merge that fails is undone for its player alone; the batch and its retries go on", () => {
  play("a", 2);
  play("b", 2);
  // A stray entry for one of a's unindexed commands: a's merge hits it, as a command id stored
  // twice would.
  db.run("INSERT INTO command_index VALUES ('a', 's1', 1)");
  const index = new CommandIndex(db, limits);
  expect(index.unindexedCount).toBe(6);
  const results = writer.commit([spinWrite("a", 4, "s3x", 1, 0), spinWrite("b", 4, "s3", 1, 0)], 5);
  expect(statuses(results)).toEqual(["committed", "committed"]);
  expect(indexed("b")).toEqual(["d1", "s1", "s2", "s3"]);
  expect(indexed("a")).toEqual(["s1"]);
  // a's commands are still found (in memory), and a keeps playing.
  expect(statuses(writer.commit([spinWrite("a", 9, "s1", 1, 0)], 6))).toEqual(["duplicate"]);
  expect(statuses(writer.commit([spinWrite("a", 5, "s4", 1, 0)], 6))).toEqual(["committed"]);
  db.run("DELETE FROM command_index WHERE player_id = 'a' AND command_id = 's1'");
});
