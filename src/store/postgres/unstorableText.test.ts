import { afterAll, expect, test } from "bun:test";
import { createTestDatabase } from "../../testing/postgresTestDb.ts";
import type { WalletWrite } from "../ledger.ts";
import { depositWrite } from "../ledgerContract.ts";
import { betWriteOn, newRound } from "../tableRoundContract.ts";
import { openTestLedger, withDirect } from "./testing/testLedger.ts";

/**
 * Text Postgres cannot store (U+0000), a client seed the protocol refuses, or a stored number
 * this process cannot read exactly, reaching the ledger anyway: the write carrying it is refused
 * alone, its batch neighbours commit, and the ledger stays healthy (a player must not be able to
 * fail other players' writes or the node's readiness). Reads by such an id find nothing instead
 * of failing.
 */

const availability = await createTestDatabase();
const database = availability.database;
afterAll(() => database?.drop());

/** Long enough that no probe runs during a test: health is what the writes left. */
const probeIntervalMs = 600_000;

/** Submits the writes together (one group-commit batch) and waits for every outcome. */
function writeTogether(
  ledger: { write(write: WalletWrite): Promise<unknown> },
  writes: WalletWrite[],
) {
  return Promise.allSettled(writes.map((write) => ledger.write(write)));
}

if (database === undefined) {
  test.skip(`postgres unstorable text - ${availability.skipReason}`, () => {});
} else {
  const url = database.url;

  test("postgres unstorable text - a client seed with U+0000 or another control character fails only its own bet", async () => {
    const ledger = await openTestLedger(url, { probeIntervalMs });
    try {
      const round = newRound();
      await ledger.openTableRound(round);
      for (const playerId of ["a", "b", "c", "d"]) {
        await ledger.write(depositWrite(playerId, 1, "d1", 10_000));
      }
      const results = await writeTogether(ledger, [
        betWriteOn(round, "a", 2, "b1", { clientSeed: "x\u0000" }),
        betWriteOn(round, "b", 2, "b1", { clientSeed: "fine" }),
        betWriteOn(round, "c", 2, "b1", { clientSeed: "tab\there" }),
        depositWrite("d", 2, "d2", 5),
      ]);
      expect(results.map((result) => result.status)).toEqual([
        "rejected",
        "fulfilled",
        "rejected",
        "fulfilled",
      ]);
      for (const refused of [results[0], results[2]]) {
        expect((refused as PromiseRejectedResult).reason).toMatchObject({ code: "INTERNAL" });
      }
      expect(ledger.stats()).toMatchObject({ batchesFailed: 0 });
      expect(ledger.healthy()).toBe(true);
      expect(await ledger.loadPlayer("a")).toMatchObject({ balance: 10_000, seq: 1 });
      expect(await ledger.loadPlayer("b")).toMatchObject({ balance: 9_900, seq: 2 });
      expect(await ledger.loadPlayer("c")).toMatchObject({ balance: 10_000, seq: 1 });
      expect(await ledger.loadPlayer("d")).toMatchObject({ balance: 10_005, seq: 2 });
      expect((await ledger.tableRoundBets(round.roundId)).map((bet) => bet.playerId)).toEqual([
        "b",
      ]);
      expect((await ledger.audit()).failures).toEqual([]);
    } finally {
      await ledger.close();
    }
  });

  test("postgres unstorable text - a stored value past 2^53 (edited by hand) fails only its player's writes", async () => {
    const ledger = await openTestLedger(url, { probeIntervalMs });
    try {
      for (const playerId of ["a", "b"]) await ledger.write(depositWrite(playerId, 1, "d1", 1_000));
      await withDirect(ledger, async (sql) => {
        await sql`UPDATE players SET day_loss = ${"9007199254740993"}::bigint WHERE player_id = 'a'`;
      });
      const results = await writeTogether(ledger, [
        depositWrite("a", 2, "d2", 5),
        depositWrite("b", 2, "d2", 5),
      ]);
      expect(results.map((result) => result.status)).toEqual(["rejected", "fulfilled"]);
      expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ code: "INTERNAL" });
      expect(ledger.stats()).toMatchObject({ batchesFailed: 0 });
      expect(ledger.healthy()).toBe(true);
      expect(await ledger.loadPlayer("b")).toMatchObject({ balance: 1_005, seq: 2 });
    } finally {
      await ledger.close();
    }
  });

  test("postgres unstorable text - U+0000 the server refuses, in a write's rows or its ids, fails only that write", async () => {
    const ledger = await openTestLedger(url, { probeIntervalMs });
    try {
      for (const playerId of ["a", "b", "c"]) {
        await ledger.write(depositWrite(playerId, 1, "d1", 1_000));
      }
      // Passes every shape check; the server refuses it at the insert (22021).
      const inReply = { ...depositWrite("a", 2, "d2", 10), reply: '{"note":"\u0000"}' };
      // Refused already by the reads that look its command up.
      const inCommandId = depositWrite("b", 2, "d\u0000", 10);
      const results = await writeTogether(ledger, [
        inReply,
        depositWrite("c", 2, "d2", 10),
        inCommandId,
      ]);
      expect(results.map((result) => result.status)).toEqual(["rejected", "fulfilled", "rejected"]);
      for (const refused of [results[0], results[2]]) {
        expect((refused as PromiseRejectedResult).reason).toMatchObject({
          code: "INTERNAL",
          message: expect.stringContaining("refused the write"),
        });
      }
      expect(ledger.stats()).toMatchObject({ batchesFailed: 0 });
      expect(ledger.healthy()).toBe(true);
      expect(await ledger.loadPlayer("a")).toMatchObject({ balance: 1_000, seq: 1 });
      expect(await ledger.loadPlayer("b")).toMatchObject({ balance: 1_000, seq: 1 });
      expect(await ledger.loadPlayer("c")).toMatchObject({ balance: 1_010, seq: 2 });
      // Alone in its batch (the first write of the savepoint path), each is refused the same way.
      await expect(ledger.write(inReply)).rejects.toMatchObject({ code: "INTERNAL" });
      await expect(ledger.write(inCommandId)).rejects.toMatchObject({ code: "INTERNAL" });
      expect(ledger.healthy()).toBe(true);
      expect((await ledger.audit()).failures).toEqual([]);
    } finally {
      await ledger.close();
    }
  });

  test("postgres unstorable text - a round looked up by an id holding U+0000 is not found", async () => {
    const ledger = await openTestLedger(url, { probeIntervalMs });
    try {
      const round = newRound();
      await ledger.openTableRound(round);
      const unstorable = `${round.roundId}\u0000`;
      expect(await ledger.tableRound(unstorable)).toBeUndefined();
      expect(await ledger.tableRoundBets(unstorable)).toEqual([]);
      expect(await ledger.findRound(unstorable)).toBeUndefined();
      expect(ledger.healthy()).toBe(true);
    } finally {
      await ledger.close();
    }
  });
}
