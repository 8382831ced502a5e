import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { depositWrite, describeLedgerContract, spinWrite } from "../ledgerContract.ts";
import { betWriteOn, newRound } from "../tableRoundContract.ts";
import { type EmbeddedLedger, openEmbeddedLedger } from "./embeddedLedger.ts";
import { schemaVersion } from "./schema.ts";
import {
  freshDataDir,
  openTempLedger,
  removeDataDirs,
  sqliteTamper,
  testLedgerOptions,
} from "./testing/tempLedger.ts";

afterAll(removeDataDirs);

describeLedgerContract("embedded", () => openTempLedger(), sqliteTamper);

test("ledger - durability is read back from SQLite: WAL and synchronous=FULL", async () => {
  const ledger = await openTempLedger({ busyTimeoutMs: 1_234 });
  try {
    expect(ledger.durability()).toContain("journal_mode=wal synchronous=FULL busy_timeout=1234ms");
    const db = new Database(ledger.path, { readonly: true });
    try {
      expect(db.query("PRAGMA journal_mode").values()).toEqual([["wal"]]);
    } finally {
      db.close();
    }
  } finally {
    await ledger.close();
  }
});

test("ledger - writes issued in one tick travel and commit as one batch", async () => {
  const ledger = await openTempLedger();
  try {
    const writes = Array.from({ length: 50 }, (_, index) =>
      depositWrite(`p${index}`, 1, "d1", 100),
    );
    const outcomes = await Promise.all(writes.map((write) => ledger.write(write)));
    expect(outcomes.every((outcome) => outcome.status === "committed")).toBe(true);
    expect(ledger.stats()).toMatchObject({ batches: 1, writes: 50, batchWritesMax: 50 });
  } finally {
    await ledger.close();
  }
});

test("ledger - 100 writes of one player issued in one tick commit in seq order", async () => {
  const ledger = await openTempLedger();
  try {
    expect((await ledger.write(depositWrite("solo", 1, "d1", 1_000_000))).status).toBe("committed");
    // Fencing refuses any write whose seq is not the next: all commit only if order is kept.
    const writes = Array.from({ length: 100 }, (_, index) =>
      spinWrite("solo", index + 2, `s${index}`, 10, 0),
    );
    const outcomes = await Promise.all(writes.map((write) => ledger.write(write)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(writes.map(() => "committed"));
    expect((await ledger.loadPlayer("solo")).seq).toBe(101);
  } finally {
    await ledger.close();
  }
});

test("ledger - groupCommitWritesMax bounds the writes of one transaction", async () => {
  const ledger = await openTempLedger({ groupCommitWritesMax: 10, groupCommitWindowMs: 0 });
  try {
    const writes = Array.from({ length: 35 }, (_, index) =>
      depositWrite(`p${index}`, 1, "d1", 100),
    );
    await Promise.all(writes.map((write) => ledger.write(write)));
    const stats = ledger.stats();
    expect(stats.writes).toBe(35);
    expect(stats.batchWritesMax).toBe(10);
    expect(stats.batches).toBe(4);
  } finally {
    await ledger.close();
  }
});

test("ledger - close commits the writes already accepted, and a reopen finds them", async () => {
  const dataDir = await freshDataDir();
  const ledger = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  const pending = [
    ledger.write(depositWrite("p1", 1, "d1", 1_000)),
    ledger.write(spinWrite("p1", 2, "s1", 100, 0)),
  ];
  await ledger.close();
  expect(await Promise.all(pending)).toEqual([
    { status: "committed", balance: 1_000 },
    { status: "committed", balance: 900 },
  ]);
  expect(ledger.healthy()).toBe(false);
  const reopened = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  try {
    expect(await reopened.loadPlayer("p1")).toMatchObject({ balance: 900, seq: 2 });
    expect(await reopened.write(spinWrite("p1", 2, "s1", 100, 0))).toMatchObject({
      status: "duplicate",
    });
    expect((await reopened.audit()).ok).toBe(true);
  } finally {
    await reopened.close();
  }
});

test("ledger - a write after close is refused with BUSY", async () => {
  const ledger = await openTempLedger();
  await ledger.close();
  await expect(ledger.write(depositWrite("p1", 1, "d1", 1))).rejects.toMatchObject({
    code: "BUSY",
  });
});

/** Spins of `players` players, `rounds` each, every round awaited before the next. */
async function spinRounds(ledger: EmbeddedLedger, players: number, rounds: number, first = 2) {
  for (let seq = first; seq < first + rounds; seq++) {
    const outcomes = await Promise.all(
      Array.from({ length: players }, (_, index) =>
        ledger.write(spinWrite(`p${index}`, seq, `s${seq}`, 1, 0)),
      ),
    );
    expect(outcomes.every((outcome) => outcome.status === "committed")).toBe(true);
  }
}

async function depositAll(ledger: EmbeddedLedger, players: number) {
  await Promise.all(
    Array.from({ length: players }, (_, index) =>
      ledger.write(depositWrite(`p${index}`, 1, "d1", 1_000_000)),
    ),
  );
}

test("ledger - the checkpointer keeps the WAL short: the writer starts it over between commits", async () => {
  const walRestartPages = 200;
  const ledger = await openTempLedger({
    walAutocheckpointPages: 100_000, // never reached: only the checkpointer may shorten the WAL
    walRestartPages,
    checkpointIntervalMs: 2,
  });
  try {
    await depositAll(ledger, 50);
    // Bounded: rounds until the writer has started the WAL over at least twice.
    for (let round = 0; round < 200 && ledger.stats().walRestarts < 2; round++) {
      await spinRounds(ledger, 50, 5, 2 + round * 5);
    }
    expect(ledger.stats().walRestarts).toBeGreaterThanOrEqual(2);
    // Without restarts the WAL would hold every page written so far (thousands).
    const walPages = Bun.file(`${ledger.path}-wal`).size / 4_096;
    expect(walPages).toBeLessThan(20 * walRestartPages);
    expect((await ledger.audit()).ok).toBe(true);
  } finally {
    await ledger.close();
  }
});

test("ledger - writes go on when the checkpointer thread is gone", async () => {
  const ledger = await openTempLedger();
  try {
    await depositAll(ledger, 20);
    ledger.terminateCheckpointer();
    await spinRounds(ledger, 20, 20);
    expect(ledger.healthy()).toBe(true);
    expect(await ledger.loadPlayer("p7")).toMatchObject({ seq: 21, balance: 1_000_000 - 20 });
  } finally {
    await ledger.close();
  }
});

test("ledger - after close the file is free at once: another connection can write", async () => {
  // Each thread's connection must be closed by then, not left for the garbage collector.
  for (let attempt = 0; attempt < 5; attempt++) {
    const ledger = await openTempLedger();
    await depositAll(ledger, 5);
    await ledger.close();
    const db = new Database(ledger.path, { readwrite: true });
    try {
      db.run("PRAGMA busy_timeout = 0");
      expect(db.run("UPDATE players SET seq = seq WHERE player_id = 'p1'").changes).toBe(1);
    } finally {
      db.close();
    }
  }
});

/** Reads a closed ledger file on a connection of its own. */
function inspectFile(path: string, look: (db: Database) => void): void {
  const db = new Database(path, { readonly: true });
  try {
    look(db);
  } finally {
    db.close();
  }
}

/** Changes a closed ledger file in place (to make it look like an older version). */
function rewriteFile(path: string, change: (db: Database) => void): void {
  const db = new Database(path, { readwrite: true });
  try {
    change(db);
  } finally {
    db.close();
  }
}

/** Back to the version 5 layout: one unique journal index over every command, no command_index. */
function backToVersion5(db: Database): void {
  db.run("DROP TABLE command_index");
  db.run("DROP TABLE command_index_floor");
  db.run("DROP INDEX journal_by_command_unrounded");
  db.run("CREATE UNIQUE INDEX journal_by_command ON journal (player_id, command_id)");
  db.run("ALTER TABLE players DROP COLUMN indexed_through");
  db.run("PRAGMA user_version = 5");
}

/** Back to the version 4 layout: bets indexed by round alone. */
function backToVersion4(db: Database): void {
  backToVersion5(db);
  db.run("DROP INDEX table_bets_by_round_player");
  db.run("CREATE INDEX table_bets_by_round ON table_bets (round_id)");
  db.run("PRAGMA user_version = 4");
}

/** Back to the version 3 layout: the index by (player, seq), no chain columns. */
function backToVersion3(db: Database): void {
  backToVersion4(db);
  db.run("CREATE UNIQUE INDEX journal_by_seq ON journal (player_id, seq)");
  db.run("ALTER TABLE journal DROP COLUMN prev_id");
  db.run("ALTER TABLE players DROP COLUMN last_id");
  db.run("PRAGMA user_version = 3");
}

/**
 * A ledger holding one deposit of 1,000 to p1, taken back to an older layout by `downgrade`, then
 * opened again (which upgrades it).
 */
async function upgradedAfter(downgrade: (db: Database) => void): Promise<EmbeddedLedger> {
  const dataDir = await freshDataDir();
  const first = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  await first.write(depositWrite("p1", 1, "d1", 1_000));
  await first.close();
  rewriteFile(first.path, downgrade);
  return openEmbeddedLedger({ ...testLedgerOptions, dataDir });
}

test("ledger - a version 1 file is upgraded in place: money kept, limits enforced", async () => {
  // Back to the version 1 layout: no loss columns, no limits table.
  const upgraded = await upgradedAfter((db) => {
    backToVersion3(db);
    db.run("DROP TABLE player_limits");
    db.run("ALTER TABLE players DROP COLUMN loss_day");
    db.run("ALTER TABLE players DROP COLUMN day_loss");
    db.run("PRAGMA user_version = 1");
  });
  try {
    expect(await upgraded.loadPlayer("p1")).toMatchObject({ balance: 1_000, seq: 1 });
    await upgraded.setLimits("p1", { selfExcludedUntil: null, lossLimitPerDay: 100 });
    const bet = { ...spinWrite("p1", 2, "s1", 200, 0), wager: { amount: 200 } };
    expect(await upgraded.write(bet)).toEqual({ status: "loss_limit" });
    expect((await upgraded.audit()).ok).toBe(true);
  } finally {
    await upgraded.close();
  }
  inspectFile(upgraded.path, (check) => {
    expect(check.query("PRAGMA user_version").values()).toEqual([[schemaVersion]]);
  });
});

test("ledger - a version 2 file is upgraded in place: money kept, table rounds work", async () => {
  // Back to the version 2 layout: no table-round tables.
  const upgraded = await upgradedAfter((db) => {
    backToVersion3(db);
    db.run("DROP TABLE table_bets");
    db.run("DROP TABLE table_rounds");
    db.run("PRAGMA user_version = 2");
  });
  try {
    expect(await upgraded.loadPlayer("p1")).toMatchObject({ balance: 1_000, seq: 1 });
    const round = newRound("t1");
    expect(await upgraded.openTableRound(round)).toBe(true);
    expect(await upgraded.write(betWriteOn(round, "p1", 2, "b1"))).toEqual({
      status: "committed",
      balance: 900,
    });
    expect(await upgraded.tableRoundBets(round.roundId)).toHaveLength(1);
    expect((await upgraded.audit()).ok).toBe(true);
  } finally {
    await upgraded.close();
  }
});

test("ledger - a version 5 file is upgraded in place: every stored command is still found", async () => {
  const dataDir = await freshDataDir();
  const first = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  await first.write(depositWrite("p1", 1, "d1", 1_000));
  const spin = spinWrite("p1", 2, "s1", 100, 300);
  await first.write(spin);
  await first.close();
  rewriteFile(first.path, backToVersion5);
  const upgraded = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  try {
    // Retries of commands stored before the upgrade get their stored replies, nothing moves.
    expect(await upgraded.write(spin)).toEqual({ status: "duplicate", reply: spin.reply });
    expect(await upgraded.write(spinWrite("p1", 3, "s1", 50, 0))).toEqual({
      status: "conflict",
    });
    expect(await upgraded.findCommand("p1", "d1")).toMatchObject({ seq: 1 });
    expect(await upgraded.write(spinWrite("p1", 3, "s2", 100, 0))).toEqual({
      status: "committed",
      balance: 1_100,
    });
    expect((await upgraded.audit()).ok).toBe(true);
  } finally {
    await upgraded.close();
  }
  inspectFile(upgraded.path, (check) => {
    expect(check.query("PRAGMA user_version").values()).toEqual([[schemaVersion]]);
    expect(check.query("SELECT count(*) FROM command_index").values()).toEqual([[2]]);
    expect(
      check.query("SELECT name FROM sqlite_master WHERE name = 'journal_by_command'").values(),
    ).toEqual([]);
  });
});

test("ledger - a version 4 file is upgraded in place: bets are indexed by round and player", async () => {
  const upgraded = await upgradedAfter(backToVersion4);
  try {
    const round = newRound("t1");
    await upgraded.openTableRound(round);
    await upgraded.write(betWriteOn(round, "p1", 2, "b1"));
    expect(await upgraded.pendingTableBets("p1")).toMatchObject([{ roundId: round.roundId }]);
  } finally {
    await upgraded.close();
  }
  inspectFile(upgraded.path, (check) => {
    expect(check.query("PRAGMA user_version").values()).toEqual([[schemaVersion]]);
    const indexes = check
      .query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'table_bets'")
      .values()
      .flat();
    expect(indexes).toContain("table_bets_by_round_player");
    expect(indexes).not.toContain("table_bets_by_round");
  });
});

test("ledger - a version 3 file is upgraded in place: the chain replaces the index by seq", async () => {
  const dataDir = await freshDataDir();
  const first = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  // Two players' writes interleaved, so a row's previous one is not the row before it.
  await first.write(depositWrite("p1", 1, "d1", 1_000));
  await first.write(depositWrite("p2", 1, "d1", 1_000));
  await first.write(spinWrite("p1", 2, "s1", 100, 0));
  await first.write(spinWrite("p2", 2, "s1", 100, 300));
  await first.write(spinWrite("p1", 3, "s2", 100, 0));
  const historyBefore = await first.history("p1", 100);
  await first.close();
  rewriteFile(first.path, backToVersion3);
  const upgraded = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  try {
    const check = new Database(first.path, { readonly: true });
    try {
      expect(check.query("PRAGMA user_version").values()).toEqual([[schemaVersion]]);
      expect(
        check.query("SELECT id, player_id, seq, prev_id FROM journal ORDER BY id").values(),
      ).toEqual([
        [1, "p1", 1, null],
        [2, "p2", 1, null],
        [3, "p1", 2, 1],
        [4, "p2", 2, 2],
        [5, "p1", 3, 3],
      ]);
      expect(
        check.query("SELECT player_id, last_id FROM players ORDER BY player_id").values(),
      ).toEqual([
        ["p1", 5],
        ["p2", 4],
      ]);
      expect(
        check.query("SELECT name FROM sqlite_master WHERE name = 'journal_by_seq'").values(),
      ).toEqual([]);
    } finally {
      check.close();
    }
    expect(await upgraded.history("p1", 100)).toEqual(historyBefore);
    expect((await upgraded.eventsAfter("p1", 0, 10)).map((event) => event.seq)).toEqual([1, 2, 3]);
    expect(await upgraded.write(spinWrite("p1", 3, "s3", 100, 0))).toMatchObject({
      status: "stale_seq",
      currentSeq: 3,
    });
    expect(await upgraded.write(spinWrite("p1", 4, "s3", 100, 0))).toEqual({
      status: "committed",
      balance: 700,
    });
    expect((await upgraded.eventsAfter("p1", 2, 10)).map((event) => event.seq)).toEqual([3, 4]);
    expect((await upgraded.history("p1", 1))[0]).toMatchObject({ id: "s3", balanceAfter: 700 });
    expect((await upgraded.audit()).failures).toEqual([]);
  } finally {
    await upgraded.close();
  }
});

test("ledger - reads walk one player's chain: interleaved players never mix, a foreign cursor reads nothing", async () => {
  const ledger = await openTempLedger();
  try {
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    await ledger.write(depositWrite("p2", 1, "d1", 2_000));
    for (let seq = 2; seq <= 4; seq++) {
      // One batch each: the players' rows alternate in the journal.
      await Promise.all([
        ledger.write(spinWrite("p1", seq, `s${seq}`, 10, 0)),
        ledger.write(spinWrite("p2", seq, `s${seq}`, 20, 0)),
      ]);
    }
    expect((await ledger.eventsAfter("p2", 1, 10)).map((event) => event.seq)).toEqual([2, 3, 4]);
    expect((await ledger.eventsAfter("p2", 1, 2)).map((event) => event.seq)).toEqual([2, 3]);
    const p1 = await ledger.history("p1", 100);
    expect(p1.map((entry) => [entry.id, entry.balanceAfter])).toEqual([
      ["s4", 970],
      ["s3", 980],
      ["s2", 990],
      ["d1", 1_000],
    ]);
    const p2 = await ledger.history("p2", 100);
    expect(p2.every((entry) => entry.amount === -20 || entry.kind === "deposit")).toBe(true);
    // A cursor of p2's row means nothing to p1; one past every row pages from the latest.
    expect(await ledger.history("p1", 10, p2[1]?.cursor)).toEqual([]);
    expect(await ledger.history("p1", 10, Number.MAX_SAFE_INTEGER)).toEqual(p1);
    expect(await ledger.history("p1", 10, p1[1]?.cursor)).toEqual(p1.slice(2));
  } finally {
    await ledger.close();
  }
});

test("ledger - a round step applies after every write sent before it", async () => {
  // The writer commits what it has queued before the step, so none of these bets can lose the
  // race to the close: all are in the draw.
  const ledger = await openTempLedger({ groupCommitWindowMs: 50 });
  try {
    const round = newRound("t1");
    await ledger.openTableRound(round);
    const players = Array.from({ length: 20 }, (_, index) => `p${index}`);
    await Promise.all(
      players.map((playerId) => ledger.write(depositWrite(playerId, 1, "d1", 100))),
    );
    const bets = players.map((playerId) =>
      ledger.write(betWriteOn(round, playerId, 2, "b1", { clientSeed: playerId })),
    );
    const closed = await ledger.closeTableRound(round.roundId);
    expect((await Promise.all(bets)).map((outcome) => outcome.status)).toEqual(
      players.map(() => "committed"),
    );
    expect(closed).toEqual({ closed: true, clientSeeds: [...players].sort() });
  } finally {
    await ledger.close();
  }
});

/**
 * The error code a promise rejects with. (`expect(pending).rejects` blocks the event loop, and
 * the writer client needs a turn of it to send the write.)
 */
function rejectionCode(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => "resolved",
    (error: unknown) => (error as { code?: unknown }).code,
  );
}

test("ledger - a table write naming another table than its round's is a programmer error", async () => {
  const ledger = await openTempLedger();
  try {
    const round = newRound("t1");
    await ledger.openTableRound(round);
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    const bet = betWriteOn({ ...round, table: "t2" }, "p1", 2, "b1");
    expect(await rejectionCode(ledger.write(bet))).toBe("INTERNAL");
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 1_000, seq: 1 });
    const badSeed = { ...newRound("t3"), serverSeed: "short" };
    expect(await rejectionCode(ledger.openTableRound(badSeed))).toBe("INTERNAL");
    expect(await rejectionCode(ledger.settleTableRound(round.roundId, 37))).toBe("INTERNAL");
    expect(await ledger.unfinishedTableRounds("t3")).toEqual([]);
    expect((await ledger.audit()).ok).toBe(true);
  } finally {
    await ledger.close();
  }
});

test("ledger - limit changes waiting for the writer are bounded: past the bound BUSY, nothing stored", async () => {
  const ledger = await openTempLedger();
  try {
    // Issued in one tick: none has reached the writer when the last is asked for.
    const changes = Array.from({ length: 1_001 }, (_, i) =>
      ledger.setLimits(`limits-${i}`, { selfExcludedUntil: null, lossLimitPerDay: 100 }),
    );
    const outcomes = await Promise.allSettled(changes);
    expect(outcomes.slice(0, 1_000).every((outcome) => outcome.status === "fulfilled")).toBe(true);
    const refused = outcomes[1_000];
    expect(refused?.status).toBe("rejected");
    expect((refused as PromiseRejectedResult).reason).toMatchObject({ code: "BUSY" });
    expect(await ledger.getLimits("limits-1000")).toEqual({
      selfExcludedUntil: null,
      lossLimitPerDay: null,
    });
    expect((await ledger.getLimits("limits-999")).lossLimitPerDay).toBe(100);
  } finally {
    await ledger.close();
  }
});
