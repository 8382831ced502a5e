import { expect, test } from "bun:test";
import type { Ledger, WalletWrite, WriteOutcome } from "./ledger.ts";
import { depositWrite } from "./ledgerContract.ts";
import type { NewTableRound, StoredTableBet } from "./tableRounds.ts";
import { tableBetWrite, tableSettlementWrite } from "./tableWrites.ts";

/**
 * Table rounds in the ledger contract (tableRounds.ts): the status machine as compare-and-set
 * steps, bets recorded only while their round is open, settlements once per (round, player), and
 * the audit's invariant 5. Every backend runs these through `describeLedgerContract`.
 */

export interface RoundFixture {
  ledger(): Ledger;
  markCorrupted(): void;
}

let roundCounter = 0;

export function newRound(table = "t1", overrides: Partial<NewTableRound> = {}): NewTableRound {
  roundCounter += 1;
  const now = Date.now();
  return {
    roundId: `r-${now.toString(36)}-${roundCounter}`,
    table,
    game: "roulette",
    serverSeed: "ab".repeat(32),
    commit: "cd".repeat(32),
    openedAt: now,
    closesAt: now + 15_000,
    ...overrides,
  };
}

export function betWriteOn(
  round: NewTableRound,
  playerId: string,
  seq: number,
  id: string,
  bet: Partial<StoredTableBet> = {},
): WalletWrite {
  const stored: StoredTableBet = {
    kind: "red",
    pick: null,
    amount: 100,
    clientSeed: null,
    ...bet,
  };
  return tableBetWrite({
    playerId,
    commandId: id,
    requestHash: `table.bet:${round.table}:${JSON.stringify(stored)}`,
    seq,
    table: round.table,
    game: round.game,
    roundId: round.roundId,
    bet: stored,
    reply: JSON.stringify({ type: "table.bet.accepted", id, seq, roundId: round.roundId }),
  });
}

export function settlementWriteOn(
  round: NewTableRound,
  playerId: string,
  seq: number,
  kind: "payout" | "refund",
  amount: number,
): WalletWrite {
  return tableSettlementWrite({
    playerId,
    seq,
    table: round.table,
    game: round.game,
    roundId: round.roundId,
    kind,
    amount,
    event: JSON.stringify({ type: "table.payout", seq, roundId: round.roundId, win: amount }),
  });
}

function balanceOf(outcome: WriteOutcome): number {
  if (outcome.status !== "committed") throw new Error(`expected committed, got ${outcome.status}`);
  return outcome.balance;
}

async function funded(ledger: Ledger, playerId: string, amount = 1_000): Promise<void> {
  balanceOf(await ledger.write(depositWrite(playerId, 1, `${playerId}-d1`, amount)));
}

export function tableRoundTests(fixture: RoundFixture): void {
  test("rounds - an opened round reads back open; a table has one unfinished round at a time", async () => {
    const ledger = fixture.ledger();
    const round = newRound("t1");
    expect(await ledger.openTableRound(round)).toBe(true);
    expect(await ledger.tableRound(round.roundId)).toEqual({
      ...round,
      status: "open",
      clientSeeds: null,
      result: null,
      closedAt: null,
      finishedAt: null,
      paid: false,
    });
    expect(await ledger.openTableRound(newRound("t1"))).toBe(false);
    expect(await ledger.openTableRound(newRound("t2"))).toBe(true);
    expect(await ledger.tableRound("no-such-round")).toBeUndefined();
    expect(await ledger.tableRoundBets(round.roundId)).toEqual([]);
  });

  test("rounds - a bet on an open round debits and is recorded against it", async () => {
    const ledger = fixture.ledger();
    const round = newRound();
    await ledger.openTableRound(round);
    await funded(ledger, "p1");
    const bet = betWriteOn(round, "p1", 2, "b1", {
      kind: "straight",
      pick: 17,
      amount: 250,
      clientSeed: "lucky",
    });
    expect(balanceOf(await ledger.write(bet))).toBe(750);
    const bets = await ledger.tableRoundBets(round.roundId);
    expect(bets).toHaveLength(1);
    expect(bets[0]).toMatchObject({
      playerId: "p1",
      commandId: "b1",
      kind: "straight",
      pick: 17,
      amount: 250,
      clientSeed: "lucky",
    });
    expect(typeof bets[0]?.at).toBe("number");
    // The retry is a duplicate and records nothing more.
    expect(await ledger.write(bet)).toEqual({ status: "duplicate", reply: bet.reply });
    expect(await ledger.tableRoundBets(round.roundId)).toHaveLength(1);
  });

  test("rounds - a bet on no such round moves nothing and leaves its id unused", async () => {
    const ledger = fixture.ledger();
    await funded(ledger, "p1");
    const ghost = newRound();
    expect(await ledger.write(betWriteOn(ghost, "p1", 2, "b1"))).toEqual({
      status: "round_closed",
      roundStatus: null,
    });
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 1_000, seq: 1 });
    expect(await ledger.findCommand("p1", "b1")).toBeUndefined();
  });

  test("rounds - a bet whose client seed has no UTF-8 form is refused and moves nothing", async () => {
    const ledger = fixture.ledger();
    await funded(ledger, "p1");
    const round = newRound();
    await ledger.openTableRound(round);
    for (const clientSeed of ["a\ud800", "\udfffb"]) {
      const refusal = await ledger.write(betWriteOn(round, "p1", 2, "b1", { clientSeed })).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(refusal).toMatchObject({ code: "INTERNAL" });
    }
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 1_000, seq: 1 });
    expect(await ledger.findCommand("p1", "b1")).toBeUndefined();
  });

  test("rounds - close fixes the sorted client seeds; later bets are refused, retries still answered", async () => {
    const ledger = fixture.ledger();
    const round = newRound();
    await ledger.openTableRound(round);
    await funded(ledger, "p1");
    await funded(ledger, "p2");
    const accepted = betWriteOn(round, "p1", 2, "b1", { clientSeed: "zeta" });
    balanceOf(await ledger.write(accepted));
    balanceOf(await ledger.write(betWriteOn(round, "p2", 2, "b1", { clientSeed: "Alpha" })));
    balanceOf(await ledger.write(betWriteOn(round, "p2", 3, "b2", { kind: "odd" })));
    expect(await ledger.closeTableRound(round.roundId)).toEqual({
      closed: true,
      clientSeeds: ["Alpha", "zeta"],
    });
    expect(await ledger.closeTableRound(round.roundId)).toEqual({
      closed: false,
      status: "closed",
    });
    expect(await ledger.write(betWriteOn(round, "p1", 3, "late"))).toEqual({
      status: "round_closed",
      roundStatus: "closed",
    });
    expect(await ledger.findCommand("p1", "late")).toBeUndefined();
    expect(await ledger.write(accepted)).toEqual({ status: "duplicate", reply: accepted.reply });
    const record = await ledger.tableRound(round.roundId);
    expect(record).toMatchObject({ status: "closed", clientSeeds: ["Alpha", "zeta"] });
    expect(typeof record?.closedAt).toBe("number");
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 900, seq: 2 });
  });

  test("rounds - each status step is a compare-and-set", async () => {
    const ledger = fixture.ledger();
    const settled = newRound("t1");
    await ledger.openTableRound(settled);
    expect(await ledger.settleTableRound(settled.roundId, 7)).toBe(false); // still open
    expect((await ledger.closeTableRound(settled.roundId)).closed).toBe(true);
    expect(await ledger.settleTableRound(settled.roundId, 7)).toBe(true);
    expect(await ledger.settleTableRound(settled.roundId, 8)).toBe(false);
    expect(await ledger.voidTableRound(settled.roundId)).toBe(false);
    expect(await ledger.tableRound(settled.roundId)).toMatchObject({
      status: "settled",
      result: 7,
      paid: false,
    });
    expect(typeof (await ledger.tableRound(settled.roundId))?.finishedAt).toBe("number");

    const voided = newRound("t1");
    expect(await ledger.openTableRound(voided)).toBe(true); // the first one is finished
    expect(await ledger.voidTableRound(voided.roundId)).toBe(true);
    expect(await ledger.voidTableRound(voided.roundId)).toBe(false);
    expect(await ledger.closeTableRound(voided.roundId)).toEqual({
      closed: false,
      status: "voided",
    });
    expect(await ledger.settleTableRound(voided.roundId, 1)).toBe(false);
    expect(await ledger.tableRound(voided.roundId)).toMatchObject({
      status: "voided",
      result: null,
    });
    // A closed round can be voided too (recovery after a crash between close and settle).
    const closedThenVoided = newRound("t1");
    await ledger.openTableRound(closedThenVoided);
    await ledger.closeTableRound(closedThenVoided.roundId);
    expect(await ledger.voidTableRound(closedThenVoided.roundId)).toBe(true);
    expect(await ledger.voidedTableRoundCount("t1")).toBe(2);
    expect(await ledger.voidedTableRoundCount("t2")).toBe(0);
  });

  test("rounds - seats: a player seated stays seated until unseated; doing either twice changes nothing", async () => {
    const ledger = fixture.ledger();
    expect(await ledger.tableSeats("t1")).toEqual([]);
    await ledger.setTableSeat("t1", "p2", true);
    await ledger.setTableSeat("t1", "p1", true);
    await ledger.setTableSeat("t1", "p1", true);
    await ledger.setTableSeat("t2", "p1", true);
    expect(await ledger.tableSeats("t1")).toEqual(["p1", "p2"]);
    expect(await ledger.tableSeats("t2")).toEqual(["p1"]);
    await ledger.setTableSeat("t1", "p1", false);
    await ledger.setTableSeat("t1", "p1", false);
    await ledger.setTableSeat("t1", "p3", false);
    expect(await ledger.tableSeats("t1")).toEqual(["p2"]);
    expect(await ledger.tableSeats("t2")).toEqual(["p1"]);
  });

  test("rounds - a payout needs a settled round and happens once per (round, player)", async () => {
    const ledger = fixture.ledger();
    const round = newRound();
    await ledger.openTableRound(round);
    await funded(ledger, "p1");
    balanceOf(await ledger.write(betWriteOn(round, "p1", 2, "b1", { kind: "red", amount: 100 })));
    await ledger.closeTableRound(round.roundId);
    // Not settled yet: refused, nothing moved.
    expect(await ledger.write(settlementWriteOn(round, "p1", 3, "payout", 200))).toEqual({
      status: "round_closed",
      roundStatus: "closed",
    });
    expect(await ledger.settleTableRound(round.roundId, 1)).toBe(true); // 1 is red
    expect(await ledger.write(settlementWriteOn(round, "p1", 3, "refund", 100))).toEqual({
      status: "round_closed",
      roundStatus: "settled",
    });
    const payout = settlementWriteOn(round, "p1", 3, "payout", 200);
    expect(balanceOf(await ledger.write(payout))).toBe(1_100);
    expect(await ledger.write(payout)).toEqual({ status: "duplicate", reply: payout.reply });
    expect(await ledger.write({ ...payout, seq: 4 })).toEqual({
      status: "duplicate",
      reply: payout.reply,
    });
    expect(await ledger.markTableRoundPaid(round.roundId)).toBe(true);
    expect(await ledger.tableRound(round.roundId)).toMatchObject({ paid: true });
    const history = await ledger.history("p1", 10);
    expect(history[0]).toMatchObject({ id: `round:${round.roundId}`, kind: "win", amount: 200 });
  });

  test("rounds - a losing player's settlement moves nothing but is recorded and sequenced", async () => {
    const ledger = fixture.ledger();
    const round = newRound();
    await ledger.openTableRound(round);
    await funded(ledger, "p1");
    balanceOf(await ledger.write(betWriteOn(round, "p1", 2, "b1", { kind: "black" })));
    await ledger.closeTableRound(round.roundId);
    await ledger.settleTableRound(round.roundId, 0);
    const payout = settlementWriteOn(round, "p1", 3, "payout", 0);
    expect(balanceOf(await ledger.write(payout))).toBe(900);
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 900, seq: 3 });
    expect((await ledger.eventsAfter("p1", 2, 10)).map((event) => event.seq)).toEqual([3]);
    expect(await ledger.markTableRoundPaid(round.roundId)).toBe(true);
  });

  test("rounds - a player's pending bets are those of rounds not yet settled with that player", async () => {
    const ledger = fixture.ledger();
    const [won, lost, voided, open] = [
      newRound("pa"),
      newRound("pb"),
      newRound("pc"),
      newRound("pd"),
    ];
    for (const playerId of ["p1", "p2"]) await funded(ledger, playerId, 10_000);
    let seq = 1;
    for (const round of [won, lost, voided, open]) {
      await ledger.openTableRound(round);
      balanceOf(
        await ledger.write(betWriteOn(round, "p1", ++seq, `b-${round.table}`, { amount: 100 })),
      );
    }
    balanceOf(
      await ledger.write(
        betWriteOn(won, "p1", ++seq, "b-pa-2", {
          kind: "straight",
          pick: 7,
          amount: 20,
          clientSeed: "s",
        }),
      ),
    );
    balanceOf(await ledger.write(betWriteOn(won, "p2", 2, "b-pa-p2", { amount: 30 })));
    const pendingOf = async (playerId: string) =>
      (await ledger.pendingTableBets(playerId)).map(
        (bet) => `${bet.table}:${bet.kind}:${bet.pick}:${bet.amount}`,
      );
    expect(await pendingOf("p1")).toEqual([
      "pa:red:null:100",
      "pa:straight:7:20",
      "pb:red:null:100",
      "pc:red:null:100",
      "pd:red:null:100",
    ]);
    expect(await ledger.pendingTableBets("p1")).toContainEqual({
      table: "pa",
      roundId: won.roundId,
      kind: "straight",
      pick: 7,
      amount: 20,
      clientSeed: "s",
    });
    // 1 is red (p1's red wins 200, the straight on 7 nothing); 2 is black (p1's red loses).
    for (const [round, result] of [
      [won, 1],
      [lost, 2],
    ] as const) {
      await ledger.closeTableRound(round.roundId);
      await ledger.settleTableRound(round.roundId, result);
    }
    await ledger.voidTableRound(voided.roundId);
    // Finished but not settled with p1: still pending.
    expect(await pendingOf("p1")).toHaveLength(5);
    balanceOf(await ledger.write(settlementWriteOn(won, "p1", ++seq, "payout", 200)));
    balanceOf(await ledger.write(settlementWriteOn(lost, "p1", ++seq, "payout", 0)));
    balanceOf(await ledger.write(settlementWriteOn(voided, "p1", ++seq, "refund", 100)));
    expect(await pendingOf("p1")).toEqual(["pd:red:null:100"]);
    // Another player's settlement is theirs alone; a paid round holds nothing pending.
    expect(await pendingOf("p2")).toEqual(["pa:red:null:30"]);
    balanceOf(await ledger.write(settlementWriteOn(won, "p2", 3, "payout", 60)));
    expect(await ledger.markTableRoundPaid(won.roundId)).toBe(true);
    expect(await pendingOf("p2")).toEqual([]);
    expect(await pendingOf("nobody")).toEqual([]);
  });

  test("rounds - a voided round refunds each player's stakes once", async () => {
    const ledger = fixture.ledger();
    const round = newRound();
    await ledger.openTableRound(round);
    await funded(ledger, "p1");
    balanceOf(await ledger.write(betWriteOn(round, "p1", 2, "b1", { amount: 100 })));
    balanceOf(
      await ledger.write(betWriteOn(round, "p1", 3, "b2", { kind: "dozen", pick: 2, amount: 50 })),
    );
    expect(await ledger.markTableRoundPaid(round.roundId)).toBe(false); // not finished
    expect(await ledger.voidTableRound(round.roundId)).toBe(true);
    const refund = settlementWriteOn(round, "p1", 4, "refund", 150);
    expect(balanceOf(await ledger.write(refund))).toBe(1_000);
    expect(await ledger.write(refund)).toEqual({ status: "duplicate", reply: refund.reply });
    expect(await ledger.markTableRoundPaid(round.roundId)).toBe(true);
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 1_000, seq: 4 });
  });

  test("rounds - unfinished rounds of a table are the open, closed and unpaid ones, oldest first", async () => {
    const ledger = fixture.ledger();
    const paid = newRound("t1", { openedAt: 1_000 });
    await ledger.openTableRound(paid);
    await ledger.voidTableRound(paid.roundId);
    await ledger.markTableRoundPaid(paid.roundId);
    const unpaid = newRound("t1", { openedAt: 2_000 });
    await ledger.openTableRound(unpaid);
    await ledger.closeTableRound(unpaid.roundId);
    await ledger.settleTableRound(unpaid.roundId, 3);
    const open = newRound("t1", { openedAt: 3_000 });
    await ledger.openTableRound(open);
    await ledger.openTableRound(newRound("t2"));
    const unfinished = await ledger.unfinishedTableRounds("t1");
    expect(unfinished.map((round) => [round.roundId, round.status])).toEqual([
      [unpaid.roundId, "settled"],
      [open.roundId, "open"],
    ]);
    expect(await ledger.unfinishedTableRounds("t3")).toEqual([]);
  });

  test("rounds - bets racing the close: each is recorded and seeded, or refused and not debited", async () => {
    const ledger = fixture.ledger();
    const round = newRound();
    await ledger.openTableRound(round);
    const players = Array.from({ length: 40 }, (_, n) => `racer${n}`);
    for (const playerId of players) await funded(ledger, playerId);
    const bets = players.map((playerId) =>
      ledger.write(betWriteOn(round, playerId, 2, "b1", { clientSeed: `seed-${playerId}` })),
    );
    const close = ledger.closeTableRound(round.roundId);
    const outcomes = await Promise.all(bets);
    const closed = await close;
    if (!closed.closed) throw new Error("the round should have closed");
    const recorded = await ledger.tableRoundBets(round.roundId);
    const accepted: string[] = [];
    for (const [index, outcome] of outcomes.entries()) {
      const playerId = players[index] as string;
      const state = await ledger.loadPlayer(playerId);
      if (outcome.status === "committed") {
        accepted.push(playerId);
        expect(state.balance).toBe(900);
      } else {
        expect(outcome).toEqual({ status: "round_closed", roundStatus: "closed" });
        expect(state.balance).toBe(1_000);
        expect(await ledger.findCommand(playerId, "b1")).toBeUndefined();
      }
    }
    expect(recorded.map((bet) => bet.playerId).sort()).toEqual([...accepted].sort());
    expect(closed.clientSeeds).toEqual(accepted.map((playerId) => `seed-${playerId}`).sort());
    // Close right behind the bets: at least the first ones made it in, in order.
    expect(accepted.length + (outcomes.length - accepted.length)).toBe(players.length);
  });

  test("rounds - audit: a paid round missing a player's settlement breaks invariant 5", async () => {
    const ledger = fixture.ledger();
    const round = newRound();
    await ledger.openTableRound(round);
    await funded(ledger, "p1");
    balanceOf(await ledger.write(betWriteOn(round, "p1", 2, "b1")));
    await ledger.voidTableRound(round.roundId);
    // Finished but not yet paid: in progress, not a failure.
    expect((await ledger.audit()).ok).toBe(true);
    await ledger.markTableRoundPaid(round.roundId);
    fixture.markCorrupted();
    const report = await ledger.audit();
    expect(report.ok).toBe(false);
    expect(report.failures.join("\n")).toContain("invariant 5");
    expect(report.failures.join("\n")).toContain(round.roundId);
  });

  test("rounds - audit: a settlement of the wrong amount breaks invariant 5", async () => {
    const ledger = fixture.ledger();
    const round = newRound();
    await ledger.openTableRound(round);
    await funded(ledger, "p1");
    balanceOf(await ledger.write(betWriteOn(round, "p1", 2, "b1", { kind: "straight", pick: 5 })));
    await ledger.closeTableRound(round.roundId);
    await ledger.settleTableRound(round.roundId, 5);
    // 35:1 plus the stake is 3,600; pay 3,700.
    balanceOf(await ledger.write(settlementWriteOn(round, "p1", 3, "payout", 3_700)));
    fixture.markCorrupted();
    const report = await ledger.audit();
    expect(report.ok).toBe(false);
    expect(report.failures.join("\n")).toContain("invariant 5");
  });

  test("rounds - audit: correct settlements of a settled round pass", async () => {
    const ledger = fixture.ledger();
    const round = newRound();
    await ledger.openTableRound(round);
    await funded(ledger, "p1");
    await funded(ledger, "p2");
    balanceOf(await ledger.write(betWriteOn(round, "p1", 2, "b1", { kind: "straight", pick: 5 })));
    balanceOf(await ledger.write(betWriteOn(round, "p1", 3, "b2", { kind: "odd", amount: 40 })));
    balanceOf(await ledger.write(betWriteOn(round, "p2", 2, "b1", { kind: "column", pick: 3 })));
    await ledger.closeTableRound(round.roundId);
    await ledger.settleTableRound(round.roundId, 5); // 5: odd, column 2, dozen 1
    balanceOf(await ledger.write(settlementWriteOn(round, "p1", 4, "payout", 3_600 + 80)));
    balanceOf(await ledger.write(settlementWriteOn(round, "p2", 3, "payout", 0)));
    expect(await ledger.markTableRoundPaid(round.roundId)).toBe(true);
    const report = await ledger.audit();
    expect(report.failures).toEqual([]);
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 1_000 - 140 + 3_680 });
  });
}
