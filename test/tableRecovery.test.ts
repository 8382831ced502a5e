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
  test("table recovery - a payout that failed while the table is empty is retried until it is paid", async () => {
    const table = "t-idle-retry";
    const held = holdWrites(await openTempLedger());
    await using node = await startTestNode(
      { tables: [fastTable(table, { bettingWindowMs: 600 })], mailboxCapacity: 4 },
      {},
      { ledger: held.ledger },
    );
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    await joinTable(socket, table);
    const round = await nextOpenRound(socket, table, 300);
    // Red, black and zero: whatever the number, the player is owed a credit.
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
    socket.send({ type: "table.leave", id: "leave", table });
    await socket.waitFor((m) => m.id === "leave" && m.type === "table.left");
    // The player's actor is stuck on a slow commit with a full mailbox: every payout attempt is
    // refused BUSY until the table gives up on this settlement.
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
    expect((await node.context.ledger.tableRound(round.roundId))?.paid).toBe(false);
    held.release("slow");
    // Nobody joins the table again: it retries on its own.
    await waitFor(
      async () => (await node.context.ledger.tableRound(round.roundId))?.paid === true,
      15_000,
      "the round to be paid",
    );
    const history = await http(node, "GET", "/v1/wallet/history?limit=100", { token });
    const payouts = history.body.entries.filter((e: any) => e.id === `round:${round.roundId}`);
    expect(payouts).toHaveLength(1);
    expect(payouts[0].amount).toBeGreaterThan(0);
    expect((await node.context.ledger.audit()).failures).toEqual([]);
  });

  test("table recovery - a payout that failed during the next round is paid when the table empties", async () => {
    const table = "t-cycle-retry";
    const held = holdWrites(await openTempLedger());
    // Long rounds: the settlement gives up, and its retry comes, while the next round is open.
    await using node = await startTestNode(
      { tables: [fastTable(table, { bettingWindowMs: 3_000 })], mailboxCapacity: 4 },
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
    held.release("slow");
    // The player leaves while the next round still takes bets: that round ends with nobody
    // seated, and no round opens after it to take the recovery up.
    socket.send({ type: "table.leave", id: "leave", table });
    await socket.waitFor((m) => m.id === "leave" && m.type === "table.left", 10_000);
    await waitFor(
      async () => (await node.context.ledger.tableRound(round.roundId))?.paid === true,
      15_000,
      "the round to be paid",
    );
    expect((await node.context.ledger.audit()).failures).toEqual([]);
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
