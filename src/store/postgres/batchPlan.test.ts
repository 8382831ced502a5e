import { expect, test } from "bun:test";
import type { WalletWrite } from "../ledger.ts";
import { depositWrite } from "../ledgerContract.ts";
import { betWriteOn, newRound, settlementWriteOn } from "../tableRoundContract.ts";
import type { TableRoundStatus } from "../tableRounds.ts";
import { type CommandIndex, commandIndexAdd, type PlayerRow, planBatch } from "./batchPlan.ts";

/** The table-round rules of batch planning, without a database. */

const round = newRound("t1");

function plan(
  writes: WalletWrite[],
  status: TableRoundStatus | undefined,
  commands: CommandIndex = new Map(),
) {
  const players = new Map<string, PlayerRow>([["p1", { balance: 1_000, seq: 1 }]]);
  const rounds = new Map<string, TableRoundStatus>();
  if (status !== undefined) rounds.set(round.roundId, status);
  return planBatch(writes, players, commands, { limits: new Map(), rounds, nowMs: Date.now() });
}

test("batch plan - a bet on an open round commits and becomes a table_bets row", () => {
  const bet = betWriteOn(round, "p1", 2, "b1", { kind: "dozen", pick: 2, clientSeed: "s" });
  const result = plan([bet], "open");
  expect(result.results).toEqual([{ outcome: { status: "committed", balance: 900 } }]);
  expect(result.bets).toEqual([
    { p: "p1", c: "b1", ri: round.roundId, k: "dozen", pk: 2, m: 100, cs: "s" },
  ]);
});

test("batch plan - a write whose round is not in the status it needs stores nothing", () => {
  const cases: [WalletWrite, TableRoundStatus | undefined][] = [
    [betWriteOn(round, "p1", 2, "b1"), "closed"],
    [betWriteOn(round, "p1", 2, "b1"), undefined],
    [settlementWriteOn(round, "p1", 2, "payout", 200), "closed"],
    [settlementWriteOn(round, "p1", 2, "payout", 200), "voided"],
    [settlementWriteOn(round, "p1", 2, "refund", 100), "settled"],
  ];
  for (const [write, status] of cases) {
    const result = plan([write], status);
    expect(result.results).toEqual([
      { outcome: { status: "round_closed", roundStatus: status ?? null } },
    ]);
    expect(result.journal).toEqual([]);
    expect(result.bets).toEqual([]);
    expect(result.players).toEqual([]);
  }
  expect(plan([settlementWriteOn(round, "p1", 2, "refund", 100)], "voided").journal).toHaveLength(
    1,
  );
});

test("batch plan - a retry of a bet accepted before the close is answered with its reply", () => {
  const bet = betWriteOn(round, "p1", 2, "b1");
  const commands: CommandIndex = new Map();
  commandIndexAdd(commands, "p1", "b1", { requestHash: bet.requestHash, reply: bet.reply });
  expect(plan([bet], "closed", commands).results).toEqual([
    { outcome: { status: "duplicate", reply: bet.reply } },
  ]);
});

test("batch plan - a refused bet does not stop the other writes of its batch", () => {
  const writes = [
    betWriteOn(round, "p1", 2, "b1"),
    depositWrite("p1", 2, "d2", 50),
    betWriteOn(round, "p2", 1, "b1"),
  ];
  const result = plan(writes, "closed");
  expect(result.results.map((entry) => "outcome" in entry && entry.outcome.status)).toEqual([
    "round_closed",
    "committed",
    "round_closed",
  ]);
  expect(result.bets).toEqual([]);
});
