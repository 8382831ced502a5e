import { afterAll, expect, test } from "bun:test";
import postgres, { type Sql } from "postgres";
import { createTestDatabase } from "../../testing/postgresTestDb.ts";
import { waitFor } from "../../testing/waitFor.ts";
import { depositWrite, spinWrite } from "../ledgerContract.ts";
import { CutProxy } from "./testing/cutProxy.ts";
import { directConnection, openTestLedger, schemaOf } from "./testing/testLedger.ts";

/** Pool limits, a lost COMMIT answer, a database that refuses connections. */

const availability = await createTestDatabase();
const database = availability.database;
afterAll(() => database?.drop());

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
}

/** Another session (another node, an operator's tool) takes the player's row lock and keeps it. */
async function lockPlayerRow(holder: Sql, playerId: string) {
  const held = await holder.reserve();
  await held`BEGIN`;
  await held`SELECT 1 FROM players WHERE player_id = ${playerId} FOR UPDATE`;
  return held;
}

if (database === undefined) {
  test.skip(`postgres ledger faults - ${availability.skipReason}`, () => {});
} else {
  const url = database.url;

  test("postgres ledger - pool exhausted: BUSY after acquireTimeoutMs, and nothing moved", async () => {
    const acquireTimeoutMs = 200;
    const ledger = await openTestLedger(url, { poolSize: 1, acquireTimeoutMs });
    const { schema } = schemaOf(ledger);
    const holder = directConnection(url, schema);
    const observer = directConnection(url, schema);
    try {
      await ledger.write(depositWrite("p1", 1, "d1", 1_000));
      await ledger.write(depositWrite("p2", 1, "d1", 1_000));
      // Another node holds p1's row: the ledger's only connection waits inside p1's batch.
      const held = await lockPlayerRow(holder, "p1");
      const blocked = ledger.write(spinWrite("p1", 2, "s1", 100, 0));
      await waitFor(
        async () =>
          (
            await observer`SELECT 1 FROM pg_stat_activity
              WHERE application_name = 'croupier' AND wait_event_type = 'Lock'`
          ).length > 0,
        5_000,
        "the ledger's batch to wait for p1's lock",
      );
      const startedMs = performance.now();
      const refused = await rejection(ledger.write(spinWrite("p2", 2, "s1", 100, 0)));
      const waitedMs = performance.now() - startedMs;
      expect(refused).toMatchObject({ code: "BUSY" });
      expect(waitedMs).toBeGreaterThanOrEqual(acquireTimeoutMs - 5);
      expect(waitedMs).toBeLessThan(acquireTimeoutMs + 1_000);
      expect(await rejection(ledger.loadPlayer("p2"))).toMatchObject({ code: "BUSY" });
      // Load, not a database fault.
      expect(ledger.healthy()).toBe(true);
      await held`COMMIT`;
      held.release();
      expect(await blocked).toEqual({ status: "committed", balance: 900 });
      expect(await ledger.loadPlayer("p2")).toMatchObject({ balance: 1_000, seq: 1 });
      expect(await ledger.findCommand("p2", "s1")).toBeUndefined();
    } finally {
      await Promise.all([holder.end({ timeout: 1 }), observer.end({ timeout: 1 })]);
      await ledger.close();
    }
  });

  test("postgres ledger - a player's row locked past the statement timeout: the batch is BUSY, nothing moved, still healthy", async () => {
    const ledger = await openTestLedger(url, { statementTimeoutMs: 300 });
    const { schema } = schemaOf(ledger);
    const holder = directConnection(url, schema);
    try {
      await ledger.write(depositWrite("p1", 1, "d1", 1_000));
      await ledger.write(depositWrite("p2", 1, "d1", 1_000));
      const held = await lockPlayerRow(holder, "p1");
      const outcomes = await Promise.allSettled([
        ledger.write(spinWrite("p1", 2, "s1", 100, 0)),
        ledger.write(spinWrite("p2", 2, "s1", 100, 0)),
      ]);
      for (const outcome of outcomes) {
        expect(outcome.status).toBe("rejected");
        expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: "BUSY" });
      }
      expect(ledger.healthy()).toBe(true);
      await held`COMMIT`;
      held.release();
      expect(await ledger.findCommand("p1", "s1")).toBeUndefined();
      // Nothing moved: the same writes go through once the lock is gone.
      expect(await ledger.write(spinWrite("p1", 2, "s1", 100, 0))).toMatchObject({
        status: "committed",
      });
      expect(await ledger.write(spinWrite("p2", 2, "s1", 100, 0))).toMatchObject({
        status: "committed",
      });
    } finally {
      await holder.end();
      await ledger.close();
    }
  });

  test("postgres ledger - past queueMax outstanding writes, write refuses at once with BUSY", async () => {
    const ledger = await openTestLedger(url, { queueMax: 3, groupCommitWindowMs: 50 });
    try {
      const accepted = [1, 2, 3].map((index) =>
        ledger.write(depositWrite(`p${index}`, 1, "d1", 10)),
      );
      const startedMs = performance.now();
      expect(await rejection(ledger.write(depositWrite("p4", 1, "d1", 10)))).toMatchObject({
        code: "BUSY",
      });
      expect(performance.now() - startedMs).toBeLessThan(40);
      expect((await Promise.all(accepted)).map((outcome) => outcome.status)).toEqual(
        Array(3).fill("committed"),
      );
      expect(await ledger.loadPlayer("p4")).toMatchObject({ exists: false });
    } finally {
      await ledger.close();
    }
  });

  test("postgres ledger - COMMIT answer lost: INTERNAL, and a retry with the same id learns it committed", async () => {
    const parsed = new URL(url);
    const proxy = CutProxy.start(parsed.hostname, Number(parsed.port || 5432));
    const viaProxy = new URL(url);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    const ledger = await openTestLedger(viaProxy.toString(), { poolSize: 1 });
    try {
      await ledger.write(depositWrite("p1", 1, "d1", 1_000));
      proxy.arm();
      const spin = spinWrite("p1", 2, "s1", 100, 0);
      expect(await rejection(ledger.write(spin))).toMatchObject({ code: "INTERNAL" });
      expect(proxy.cuts).toBe(1);
      expect(ledger.healthy()).toBe(false);
      // The caller reloads: the spin did commit, and its retry is a duplicate with its reply.
      expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 900, seq: 2 });
      expect(await ledger.write(spin)).toEqual({ status: "duplicate", reply: spin.reply });
      expect(ledger.healthy()).toBe(true);
      expect((await ledger.audit()).failures).toEqual([]);
    } finally {
      await ledger.close();
      proxy.stop();
    }
  });

  test("postgres ledger - a network that swallows packets: INTERNAL after the bound, then recovery", async () => {
    const parsed = new URL(url);
    const proxy = CutProxy.start(parsed.hostname, Number(parsed.port || 5432));
    const viaProxy = new URL(url);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    // Bound on one transaction: connect 300 + 3 x 100 ms.
    const ledger = await openTestLedger(viaProxy.toString(), {
      connectTimeoutMs: 300,
      statementTimeoutMs: 100,
      probeIntervalMs: 50,
    });
    try {
      await ledger.write(depositWrite("p1", 1, "d1", 1_000));
      proxy.blackHole(true);
      const startedMs = performance.now();
      const lost = await rejection(ledger.write(spinWrite("p1", 2, "s1", 100, 0)));
      expect(lost).toMatchObject({ code: "INTERNAL" });
      expect(performance.now() - startedMs).toBeLessThan(2_000);
      expect(ledger.healthy()).toBe(false);
      proxy.blackHole(false);
      await waitFor(() => ledger.healthy(), 10_000, "the ledger to be healthy again");
      // Nothing reached the server: the retry commits.
      expect(await ledger.write(spinWrite("p1", 2, "s1", 100, 0))).toEqual({
        status: "committed",
        balance: 900,
      });
    } finally {
      await ledger.close();
      proxy.stop();
    }
  });

  test("postgres ledger - database refusing connections: BUSY, not healthy, then recovers alone", async () => {
    const ledger = await openTestLedger(url, { probeIntervalMs: 50 });
    const admin = postgres(database.adminUrl, { max: 1, onnotice: () => {} });
    try {
      await ledger.write(depositWrite("p1", 1, "d1", 1_000));
      await admin.unsafe(`ALTER DATABASE ${database.name} ALLOW_CONNECTIONS false`);
      try {
        await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE application_name = 'croupier' AND datname = ${database.name}`;
        // The first write may still go out on a session that just died: INTERNAL.
        await ledger.write(spinWrite("p1", 2, "s1", 100, 0)).catch(() => undefined);
        // No connection can be opened now: nothing is sent, and the write is BUSY.
        const refused = await rejection(ledger.write(spinWrite("p1", 2, "s1", 100, 0)));
        expect(refused).toMatchObject({ code: "BUSY" });
        expect(ledger.healthy()).toBe(false);
        expect(await ledger.loadPlayer("p1").catch(() => "refused")).toBe("refused");
      } finally {
        await admin.unsafe(`ALTER DATABASE ${database.name} ALLOW_CONNECTIONS true`);
      }
      // No traffic needed: the probe sees the database commit again.
      await waitFor(() => ledger.healthy(), 10_000, "the ledger to be healthy again");
      expect(await ledger.write(spinWrite("p1", 2, "s1", 100, 0))).toEqual({
        status: "committed",
        balance: 900,
      });
    } finally {
      await admin.end({ timeout: 1 });
      await ledger.close();
    }
  });
}
