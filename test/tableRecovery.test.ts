import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEmbeddedLedger } from "../src/store/embedded/embeddedLedger.ts";
import { openTempLedger, removeDataDirs } from "../src/store/embedded/testing/tempLedger.ts";
import { depositWrite } from "../src/store/ledgerContract.ts";
import { betWriteOn, newRound } from "../src/store/tableRoundContract.ts";
import { waitFor } from "../src/testing/waitFor.ts";
import {
  balanceOf,
  holdWrites,
  http,
  newSession,
  RecordingSocket,
  startTestNode,
} from "./harness.ts";
import { expectedCredit, fastTable, joinTable, nextOpenRound } from "./tableHelpers.ts";

afterAll(removeDataDirs);

/**
 * A node that died after a round's result was durable (settled) but before every player was
 * paid: the next activation pays the missing players, once, and a second recovery pays nobody.
 */
describe("table recovery", () => {
  /**
   * A node with one table, a seated player who bet red, black and zero in its first round (so
   * whatever the number, the player is owed a credit), and a way to make that round's payout
   * fail: the player's actor stuck on a slow commit with a full mailbox refuses every attempt
   * BUSY until the table gives up on the settlement.
   */
  async function playerOwedARound(table: string, bettingWindowMs: number) {
    const held = holdWrites(await openTempLedger());
    const node = await startTestNode(
      { tables: [fastTable(table, { bettingWindowMs })], mailboxCapacity: 4 },
      {},
      { ledger: held.ledger },
    );
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    await joinTable(socket, table);
    const round = await nextOpenRound(socket, table, 300);
    const bets = [{ kind: "red" }, { kind: "black" }, { kind: "straight", number: 0 }];
    for (const [i, bet] of bets.entries()) {
      socket.send({
        type: "table.bet",
        id: `b${i}`,
        table,
        bet,
        amount: 10,
        roundId: round.roundId,
      });
      await socket.waitFor((m) => m.id === `b${i}` && m.type === "table.bet.accepted");
    }
    const leave = async () => {
      socket.send({ type: "table.leave", id: "leave", table });
      await socket.waitFor((m) => m.id === "leave" && m.type === "table.left", 10_000);
    };
    const failThePayout = async () => {
      held.hold("slow");
      socket.send({ type: "spin", id: "slow", game: "slot", bet: 20 });
      await held.reached("slow");
      for (let i = 0; i < 4; i++) socket.send({ type: "spin", id: `q${i}`, game: "slot", bet: 20 });
      await waitFor(
        async () =>
          (await (await fetch(`${node.httpUrl}/metrics`)).text()).includes(
            `croupier_table_settlements_incomplete_total{table="${table}"} 1`,
          ),
        15_000,
        "the settlement to give up",
      );
    };
    const paid = () =>
      waitFor(
        async () => (await node.context.ledger.tableRound(round.roundId))?.paid === true,
        15_000,
        "the round to be paid",
      );
    return {
      node,
      token,
      round,
      leave,
      failThePayout,
      releaseThePlayer: () => held.release("slow"),
      paid,
      [Symbol.asyncDispose]: () => node[Symbol.asyncDispose](),
    };
  }

  test("table recovery - a payout that failed while the table is empty is retried until it is paid", async () => {
    await using owed = await playerOwedARound("t-idle-retry", 600);
    const { node, token, round } = owed;
    await owed.leave();
    await owed.failThePayout();
    expect((await node.context.ledger.tableRound(round.roundId))?.paid).toBe(false);
    owed.releaseThePlayer();
    // Nobody joins the table again: it retries on its own.
    await owed.paid();
    const history = await http(node, "GET", "/v1/wallet/history?limit=100", { token });
    const payouts = history.body.entries.filter((e: any) => e.id === `round:${round.roundId}`);
    expect(payouts).toHaveLength(1);
    expect(payouts[0].amount).toBeGreaterThan(0);
    expect((await node.context.ledger.audit()).failures).toEqual([]);
  });

  test("table recovery - a payout that failed during the next round is paid when the table empties", async () => {
    // Long rounds: the settlement gives up, and its retry comes, while the next round is open.
    await using owed = await playerOwedARound("t-cycle-retry", 3_000);
    await owed.failThePayout();
    owed.releaseThePlayer();
    // The player leaves while the next round still takes bets: that round ends with nobody
    // seated, and no round opens after it to take the recovery up.
    await owed.leave();
    await owed.paid();
    expect((await owed.node.context.ledger.audit()).failures).toEqual([]);
  });

  test("table recovery - a settled round left half paid is completed once; recovery again pays nothing", async () => {
    const table = "t-recover";
    const dataDir = mkdtempSync(join(tmpdir(), "croupier-table-recovery-"));
    try {
      const round = newRound(table);
      const number = 7; // red, odd, low, first dozen, first column
      const bets = [
        { playerId: "winner", kind: "red", pick: null, amount: 100 },
        { playerId: "straight", kind: "straight", pick: 7, amount: 10 },
        { playerId: "loser", kind: "even", pick: null, amount: 50 },
      ];
      const ledger = await openEmbeddedLedger({
        dataDir,
        groupCommitWindowMs: 1,
        groupCommitWritesMax: 100,
        queueMax: 1_000,
      });
      await ledger.openTableRound(round);
      for (const bet of bets) {
        await ledger.write(depositWrite(bet.playerId, 1, "d1", 1_000));
        const outcome = await ledger.write(
          betWriteOn(round, bet.playerId, 2, "b1", {
            kind: bet.kind,
            pick: bet.pick,
            amount: bet.amount,
          }),
        );
        expect(outcome.status).toBe("committed");
      }
      await ledger.closeTableRound(round.roundId);
      expect(await ledger.settleTableRound(round.roundId, number)).toBe(true);
      // The node died here: the result is durable, nobody is paid.
      await ledger.close();

      const expected = new Map([
        ["winner", 1_000 - 100 + expectedCredit({ kind: "red" }, 100, number)],
        ["straight", 1_000 - 10 + expectedCredit({ kind: "straight", number: 7 }, 10, number)],
        ["loser", 1_000 - 50],
      ]);
      const tables = [fastTable(table)];
      {
        await using node = await startTestNode({ dataDir, tables, startingBalance: 0 });
        await waitFor(
          async () => (await node.context.ledger.tableRound(round.roundId))?.paid === true,
          10_000,
          "the round to be paid",
        );
        for (const [playerId, balance] of expected) {
          const { token } = await newSession(node, playerId);
          expect(await balanceOf(node, token)).toBe(balance);
          // Every player, the loser too, got exactly one sequenced settlement.
          const events = await node.context.ledger.eventsAfter(playerId, 2, 10);
          expect(events.map((event) => JSON.parse(event.event))).toEqual([
            expect.objectContaining({ type: "table.payout", seq: 3, roundId: round.roundId }),
          ]);
        }
      }
      {
        await using node = await startTestNode({ dataDir, tables, startingBalance: 0 });
        expect(await node.context.ledger.unfinishedTableRounds(table)).toEqual([]);
        for (const [playerId, balance] of expected) {
          expect((await node.context.ledger.loadPlayer(playerId)).balance).toBe(balance);
          expect((await node.context.ledger.loadPlayer(playerId)).seq).toBe(3);
        }
        expect((await node.context.ledger.audit()).failures).toEqual([]);
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
