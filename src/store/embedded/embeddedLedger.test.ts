import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { depositWrite, describeLedgerContract, spinWrite } from "../ledgerContract.ts";
import { openEmbeddedLedger } from "./embeddedLedger.ts";
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
