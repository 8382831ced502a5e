import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { CroupierError } from "../../errors.ts";
import { waitFor } from "../../testing/waitFor.ts";
import type { WriteOutcome } from "../ledger.ts";
import { depositWrite } from "../ledgerContract.ts";
import { openEmbeddedLedger } from "./embeddedLedger.ts";
import {
  freshDataDir,
  openTempLedger,
  removeDataDirs,
  testLedgerOptions,
} from "./testing/tempLedger.ts";

afterAll(removeDataDirs);

/** Settles a promise into its outcome or its error code, so tests can compare whole arrays. */
function settle(promise: Promise<WriteOutcome>): Promise<string> {
  return promise.then(
    (outcome) => outcome.status,
    (error: unknown) =>
      error instanceof CroupierError ? error.code : `unexpected ${String(error)}`,
  );
}

test("ledger - past queueMax outstanding writes, write refuses at once with BUSY", async () => {
  const queueMax = 10;
  const ledger = await openTempLedger({ queueMax });
  try {
    const settled: string[] = [];
    const writes = Array.from({ length: queueMax + 5 }, (_, index) =>
      settle(ledger.write(depositWrite(`p${index}`, 1, "d1", 100))).then((result) => {
        settled.push(`${index}:${result}`);
        return result;
      }),
    );
    const results = await Promise.all(writes);
    expect(results).toEqual([...Array(queueMax).fill("committed"), ...Array(5).fill("BUSY")]);
    // The refusals came before any commit: they never waited for the writer.
    expect(settled.slice(0, 5)).toEqual(["10:BUSY", "11:BUSY", "12:BUSY", "13:BUSY", "14:BUSY"]);
    expect(await ledger.loadPlayer("p10")).toMatchObject({ exists: false });
    // Once answered, the slots are free again.
    expect(await ledger.write(depositWrite("p10", 1, "d1", 100))).toMatchObject({
      status: "committed",
    });
  } finally {
    await ledger.close();
  }
});

test("ledger - a failed transaction rejects its whole batch with INTERNAL and commits none of it", async () => {
  const ledger = await openTempLedger({ busyTimeoutMs: 50, recoveryProbeMs: 20 });
  const locker = new Database(ledger.path, { readwrite: true });
  try {
    locker.run("PRAGMA busy_timeout = 0");
    // Another connection holds the write lock: the writer's BEGIN fails after its busy timeout.
    locker.run("BEGIN IMMEDIATE");
    const results = await Promise.all([
      settle(ledger.write(depositWrite("a", 1, "d1", 100))),
      settle(ledger.write(depositWrite("b", 1, "d1", 100))),
    ]);
    expect(results).toEqual(["INTERNAL", "INTERNAL"]);
    expect(ledger.healthy()).toBe(false);
    expect(ledger.stats().batchesFailed).toBe(1);
    expect(await ledger.loadPlayer("a")).toMatchObject({ exists: false });
    locker.run("ROLLBACK");
    // No write arrives (a not-ready node gets no traffic): the writer's probe restores health.
    await waitFor(() => ledger.healthy(), 3_000, "the ledger to report healthy again");
    expect(await ledger.write(depositWrite("a", 1, "d1", 100))).toMatchObject({
      status: "committed",
    });
  } finally {
    locker.close();
    await ledger.close();
  }
});

test("ledger - when the writer thread dies, outstanding writes fail INTERNAL and it is unhealthy", async () => {
  const dataDir = await freshDataDir();
  const ledger = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  expect(await ledger.write(depositWrite("p1", 1, "d1", 100))).toMatchObject({
    status: "committed",
  });
  const outstanding = Array.from({ length: 20 }, (_, index) =>
    settle(ledger.write(depositWrite(`q${index}`, 1, "d1", 100))),
  );
  ledger.terminateWriter();
  expect(await Promise.all(outstanding)).toEqual(Array(20).fill("INTERNAL"));
  expect(ledger.healthy()).toBe(false);
  expect(await settle(ledger.write(depositWrite("p2", 1, "d1", 100)))).toBe("BUSY");
  await ledger.close();
  // Whatever the dead writer had in flight, the file is sound and holds the acknowledged write.
  const reopened = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  try {
    expect(await reopened.loadPlayer("p1")).toMatchObject({ balance: 100, seq: 1 });
    expect((await reopened.audit()).ok).toBe(true);
  } finally {
    await reopened.close();
  }
});

test("ledger - opening a file that is not a ledger fails and names the reason", async () => {
  const dataDir = await freshDataDir();
  await Bun.write(
    `${dataDir}/ledger.db`,
    "this is not a database, it is long enough to be read as a header",
  );
  await expect(openEmbeddedLedger({ ...testLedgerOptions, dataDir })).rejects.toThrow(
    /ledger could not be opened/,
  );
});
