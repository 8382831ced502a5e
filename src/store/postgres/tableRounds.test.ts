import { afterAll, expect, test } from "bun:test";
import type { TransactionSql } from "postgres";
import { settleBet } from "../../games/roulette/bets.ts";
import { rouletteBetOf, settlementsOf } from "../../games/roulette/settlement.ts";
import { createTestDatabase } from "../../testing/postgresTestDb.ts";
import { waitFor } from "../../testing/waitFor.ts";
import type { Ledger } from "../ledger.ts";
import { depositWrite, spinWrite } from "../ledgerContract.ts";
import { betWriteOn, newRound, settlementWriteOn } from "../tableRoundContract.ts";
import { tableSettlementCommandId } from "../tableRounds.ts";
import { directConnection, openTestLedger, schemaOf, withDirect } from "./testing/testLedger.ts";

/**
 * Table rounds in the Postgres ledger beyond the contract: the audit's SQL rule against the
 * game's, the close waiting for a bet transaction that saw the round open, and the audit
 * noticing each way a round's money can be tampered with.
 */

const availability = await createTestDatabase();
const database = availability.database;
afterAll(() => database?.drop());

/** Runs one statement as a tool with too many rights would: append-only triggers skipped. */
async function tamper(
  ledger: Ledger,
  body: (sql: TransactionSql) => Promise<unknown>,
): Promise<void> {
  await withDirect(ledger, (sql) =>
    sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      await body(tx);
    }),
  );
}

async function invariant5(ledger: Ledger): Promise<string> {
  const report = await ledger.audit();
  expect(report.ok).toBe(false);
  return report.failures.filter((line) => line.startsWith("invariant 5:")).join("\n");
}

if (database === undefined) {
  test.skip(`postgres table rounds - ${availability.skipReason}`, () => {});
} else {
  const url = database.url;

  test("postgres table rounds - the audit's SQL roulette rule pays what the game pays", async () => {
    const ledger = await openTestLedger(url);
    try {
      const bets: { kind: string; pick: number | null }[] = [
        ...Array.from({ length: 37 }, (_, number) => ({ kind: "straight", pick: number })),
        ...["red", "black", "even", "odd", "low", "high"].map((kind) => ({ kind, pick: null })),
        ...[1, 2, 3].flatMap((n) => [
          { kind: "dozen", pick: n },
          { kind: "column", pick: n },
        ]),
      ];
      const cases = bets.flatMap((bet) =>
        Array.from({ length: 37 }, (_, result) => ({ ...bet, result })),
      );
      const stake = 7;
      const rows = await withDirect(
        ledger,
        (sql) => sql<{ credit: string }[]>`
          SELECT croupier_roulette_credit(c.kind, c.pick, ${stake}, c.result) AS credit
          FROM unnest(${cases.map((c) => c.kind)}::text[], ${cases.map((c) => c.pick)}::int[],
            ${cases.map((c) => c.result)}::int[]) WITH ORDINALITY AS c(kind, pick, result, i)
          ORDER BY c.i`,
      );
      const expected = cases.map((c) => settleBet(rouletteBetOf(c), stake, c.result));
      expect(rows.map((row) => Number(row.credit))).toEqual(expected);
      // A (kind, pick) no valid bet has is no rule's: null, never a silent 0.
      const invalid = await withDirect(
        ledger,
        (sql) => sql<{ credit: string | null }[]>`
          SELECT croupier_roulette_credit(k, p, 10, 5) AS credit FROM (VALUES
            ('straight', NULL::int), ('straight', 37), ('dozen', 0), ('column', 4),
            ('red', 1), ('split', 5)) AS v(k, p)`,
      );
      expect(invalid.map((row) => row.credit)).toEqual(Array(6).fill(null));
    } finally {
      await ledger.close();
    }
  });

  test("postgres table rounds - the close waits for a bet that saw the round open, and seeds it", async () => {
    const ledger = await openTestLedger(url);
    const { schema } = schemaOf(ledger);
    const otherNode = directConnection(url, schema);
    const observer = directConnection(url, schema);
    try {
      const round = newRound();
      await ledger.openTableRound(round);
      await ledger.write(depositWrite("p1", 1, "d1", 1_000));
      // Another node's bet transaction: the round read open FOR SHARE, its bet row not yet in.
      const held = await otherNode.reserve();
      await held`BEGIN`;
      const [seen] = await held`
        SELECT status FROM table_rounds WHERE round_id = ${round.roundId} FOR SHARE`;
      expect(seen?.status).toBe("open");
      const closing = ledger.closeTableRound(round.roundId);
      await waitFor(
        async () =>
          (
            await observer`SELECT 1 FROM pg_stat_activity
              WHERE application_name = 'croupier' AND wait_event_type = 'Lock'
                AND datname = current_database()`
          ).length > 0,
        5_000,
        "the close to wait for the bet's share lock",
      );
      // The bet commits while the close waits: it was accepted while the round was open.
      await held`INSERT INTO table_bets (player_id, command_id, round_id, kind, pick, amount, client_seed)
        VALUES ('p9', 'b1', ${round.roundId}, 'red', NULL, 100, 'late-but-in')`;
      await held`COMMIT`;
      held.release();
      expect(await closing).toEqual({ closed: true, clientSeeds: ["late-but-in"] });
      expect(await ledger.tableRound(round.roundId)).toMatchObject({
        status: "closed",
        clientSeeds: ["late-but-in"],
      });
    } finally {
      await Promise.all([otherNode.end({ timeout: 1 }), observer.end({ timeout: 1 })]);
      await ledger.close();
    }
  });

  test("postgres table rounds - client seeds sort by UTF-16 code units, not the collation", async () => {
    const ledger = await openTestLedger(url);
    try {
      const round = newRound();
      await ledger.openTableRound(round);
      const seeds = ["b", "B", "a", "é", "Z", "_", "10", "9", "😀", "ｚ"];
      for (const [index, seed] of seeds.entries()) {
        const playerId = `p${index}`;
        await ledger.write(depositWrite(playerId, 1, "d1", 1_000));
        await ledger.write(betWriteOn(round, playerId, 2, "b1", { clientSeed: seed }));
      }
      expect(await ledger.closeTableRound(round.roundId)).toEqual({
        closed: true,
        clientSeeds: [...seeds].sort(),
      });
    } finally {
      await ledger.close();
    }
  });

  test("postgres table rounds - table_bets refuses UPDATE and DELETE (append-only)", async () => {
    const ledger = await openTestLedger(url);
    try {
      const round = newRound();
      await ledger.openTableRound(round);
      await ledger.write(depositWrite("p1", 1, "d1", 1_000));
      await ledger.write(betWriteOn(round, "p1", 2, "b1"));
      await withDirect(ledger, async (sql) => {
        await expect(sql`UPDATE table_bets SET amount = 1`).rejects.toThrow(/append-only/);
        await expect(sql`DELETE FROM table_bets`).rejects.toThrow(/append-only/);
      });
    } finally {
      await ledger.close();
    }
  });

  /** p1 and p2 bet in a round that is then settled on 5 and paid: a ledger the audit passes. */
  async function paidRound(ledger: Ledger) {
    const round = newRound("t1");
    await ledger.openTableRound(round);
    for (const playerId of ["p1", "p2"]) {
      await ledger.write(depositWrite(playerId, 1, "d1", 1_000));
    }
    await ledger.write(betWriteOn(round, "p1", 2, "b1", { kind: "odd", amount: 100 }));
    await ledger.write(betWriteOn(round, "p2", 2, "b1", { kind: "even", amount: 100 }));
    await ledger.closeTableRound(round.roundId);
    await ledger.settleTableRound(round.roundId, 5);
    const owed = settlementsOf(await ledger.tableRoundBets(round.roundId), 5);
    for (const [playerId, amount] of owed) {
      const outcome = await ledger.write(settlementWriteOn(round, playerId, 3, "payout", amount));
      expect(outcome.status).toBe("committed");
    }
    expect(await ledger.markTableRoundPaid(round.roundId)).toBe(true);
    expect((await ledger.audit()).failures).toEqual([]);
    return round;
  }

  test("postgres table rounds - audit: settlements of no round, an open round, or without a bet", async () => {
    const ledger = await openTestLedger(url);
    try {
      const round = await paidRound(ledger);
      const open = newRound("t2");
      await ledger.openTableRound(open);
      const rename = (playerId: string, commandId: string) =>
        tamper(
          ledger,
          (sql) => sql`
            UPDATE journal SET command_id = ${commandId}
            WHERE player_id = ${playerId}
              AND command_id = ${tableSettlementCommandId(round.roundId)}`,
        );
      await rename("p1", tableSettlementCommandId("ghost"));
      await rename("p2", tableSettlementCommandId(open.roundId));
      const lines = await invariant5(ledger);
      expect(lines).toContain("round ghost does not exist but player p1 has a settlement");
      expect(lines).toContain(`round ${open.roundId} is open but player p2 has a settlement`);
      expect(lines).toContain(
        `round ${round.roundId} (settled) is marked paid but player p1 (owed 200) has no settlement`,
      );
      // A settled round's settlement by a player who never bet in it.
      const other = await openTestLedger(url);
      try {
        const settled = await paidRound(other);
        await other.write(depositWrite("p3", 1, "d1", 1_000));
        await tamper(
          other,
          (sql) => sql`
            UPDATE journal SET command_id = ${tableSettlementCommandId(settled.roundId)}
            WHERE player_id = 'p3' AND command_id = 'd1'`,
        );
        expect(await invariant5(other)).toContain(
          `round ${settled.roundId} (settled): player p3 has a settlement but no bet in it`,
        );
      } finally {
        await other.close();
      }
    } finally {
      await ledger.close();
    }
  });

  test("postgres table rounds - audit: a bet without its journal entry, or debiting another amount", async () => {
    const ledger = await openTestLedger(url);
    try {
      const round = await paidRound(ledger);
      await tamper(
        ledger,
        (sql) => sql`UPDATE journal SET command_id = 'renamed'
          WHERE player_id = 'p1' AND command_id = 'b1'`,
      );
      await tamper(
        ledger,
        (sql) =>
          sql`UPDATE table_bets SET amount = 50 WHERE player_id = 'p2' AND command_id = 'b1'`,
      );
      const lines = await invariant5(ledger);
      expect(lines).toContain(`round ${round.roundId}: bet b1 of player p1 has no journal entry`);
      expect(lines).toContain(
        `round ${round.roundId}: bet b1 of player p2 stakes 50 but its entry debits the player 100`,
      );
    } finally {
      await ledger.close();
    }
  });

  test("postgres table rounds - audit: a debited bet whose table bet row is gone is in no round, and fails", async () => {
    const ledger = await openTestLedger(url);
    try {
      const round = newRound();
      await ledger.openTableRound(round);
      await ledger.write(depositWrite("p1", 1, "d1", 1_000));
      await ledger.write(depositWrite("p2", 1, "d1", 1_000));
      await ledger.write(betWriteOn(round, "p1", 2, "b1", { amount: 100 }));
      await ledger.write(betWriteOn(round, "p2", 2, "b1", { amount: 200 }));
      await tamper(
        ledger,
        (sql) => sql`DELETE FROM table_bets WHERE player_id = 'p1' AND command_id = 'b1'`,
      );
      // The round finishes as the table would run it: it refunds the bets the ledger lists.
      await ledger.closeTableRound(round.roundId);
      await ledger.voidTableRound(round.roundId);
      const listed = await ledger.tableRoundBets(round.roundId);
      expect(listed.map((bet) => bet.playerId)).toEqual(["p2"]);
      await ledger.write(settlementWriteOn(round, "p2", 3, "refund", 200));
      await ledger.markTableRoundPaid(round.roundId);
      const report = await ledger.audit();
      expect(report.failures).toEqual([
        "invariant 5: bet b1 of player p1 stakes 100 to house:roulette but has no table bet: " +
          "it is in no round, never settled nor refunded",
      ]);
      expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 900 });
    } finally {
      await ledger.close();
    }
  });

  test("postgres table rounds - audit: slot stakes and table settlements need no table bet", async () => {
    const ledger = await openTestLedger(url);
    try {
      await paidRound(ledger);
      await ledger.write(depositWrite("p3", 1, "d1", 1_000));
      await ledger.write(spinWrite("p3", 2, "s1", 100, 40));
      const report = await ledger.audit();
      expect(report.failures).toEqual([]);
    } finally {
      await ledger.close();
    }
  });

  test("postgres table rounds - audit: a voided round pays out in progress, then a refund credited as a win fails", async () => {
    const ledger = await openTestLedger(url);
    try {
      const round = newRound();
      await ledger.openTableRound(round);
      await ledger.write(depositWrite("p1", 1, "d1", 1_000));
      await ledger.write(betWriteOn(round, "p1", 2, "b1", { amount: 100 }));
      await ledger.voidTableRound(round.roundId);
      const pending = await ledger.audit();
      expect(pending.failures).toEqual([]);
      expect(pending.notes).toContain("invariant 5: 1 finished rounds still paying out");
      await ledger.write(settlementWriteOn(round, "p1", 3, "refund", 100));
      await ledger.markTableRoundPaid(round.roundId);
      const paid = await ledger.audit();
      expect(paid.failures).toEqual([]);
      expect(paid.notes ?? []).toEqual([]);
      await tamper(
        ledger,
        (sql) => sql`UPDATE postings SET kind = 'win'
          WHERE account = 'player:p1' AND kind = 'refund'`,
      );
      expect(await invariant5(ledger)).toContain(
        `round ${round.roundId} (voided): the settlement of player p1 has 1 player postings of kind win, not refund`,
      );
    } finally {
      await ledger.close();
    }
  });

  test("postgres table rounds - a ledger without table rounds notes invariant 5 as not applicable", async () => {
    const ledger = await openTestLedger(url);
    try {
      await ledger.write(depositWrite("p1", 1, "d1", 1_000));
      const report = await ledger.audit();
      expect(report.ok).toBe(true);
      expect(report.notes).toEqual(["invariant 5: not applicable: no table rounds yet"]);
    } finally {
      await ledger.close();
    }
  });

  test("postgres table rounds - round steps on a closed ledger are BUSY, nothing sent", async () => {
    const ledger = await openTestLedger(url);
    await ledger.close();
    await expect(ledger.openTableRound(newRound())).rejects.toMatchObject({ code: "BUSY" });
    await expect(ledger.closeTableRound("r1")).rejects.toMatchObject({ code: "BUSY" });
  });
}
