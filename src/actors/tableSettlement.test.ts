import { expect, test } from "bun:test";
import type { TableBetRecord } from "../store/tableRounds.ts";
import { type PlayerSettlement, settleFinishedRound } from "./tableSettlement.ts";

/** One red bet of 10 by p1: a win on 1 (red) is a credit of 20. */
const bets: TableBetRecord[] = [
  {
    playerId: "p1",
    commandId: "b1",
    kind: "red",
    pick: null,
    amount: 10,
    clientSeed: null,
    at: 0,
  },
];

function ledgerOf(paid: () => boolean) {
  return {
    tableRoundBets: async () => bets,
    markTableRoundPaid: async () => paid(),
  };
}

test("table settlement - every player is settled once, then the round is marked paid", async () => {
  const settled: PlayerSettlement[] = [];
  const report = await settleFinishedRound("r1", 1, {
    ledger: ledgerOf(() => true),
    settlePlayer: async (settlement) => {
      settled.push(settlement);
    },
    concurrencyMax: 4,
    attemptsMax: 3,
    retryDelayMs: 1,
  });
  expect(settled).toEqual([{ playerId: "p1", kind: "payout", amount: 20 }]);
  expect(report).toMatchObject({ complete: true, credits: new Map([["p1", 20]]) });
});

test("table settlement - a failing player is tried again, up to the attempts", async () => {
  let attempts = 0;
  const report = await settleFinishedRound("r1", 1, {
    ledger: ledgerOf(() => true),
    settlePlayer: async () => {
      attempts += 1;
      throw new Error("the player's mailbox is full");
    },
    concurrencyMax: 4,
    attemptsMax: 3,
    retryDelayMs: 1,
  });
  expect(attempts).toBe(3);
  expect(report.complete).toBe(false);
});

test("table settlement - once the table has stopped, no further attempt is made", async () => {
  let attempts = 0;
  let stopped = false;
  const report = await settleFinishedRound("r1", null, {
    ledger: ledgerOf(() => true),
    settlePlayer: async () => {
      attempts += 1;
      stopped = true; // the table stops while this attempt runs
      throw new Error("the actor system is stopping");
    },
    concurrencyMax: 4,
    attemptsMax: 5,
    retryDelayMs: 1,
    stopped: () => stopped,
  });
  expect(attempts).toBe(1);
  expect(report.complete).toBe(false);
  expect(String(report.lastError)).toContain("stopping");
});
