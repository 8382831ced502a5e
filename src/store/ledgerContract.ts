import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { CroupierError } from "../errors.ts";
import type { Ledger, Posting, WalletWrite, WriteOutcome } from "./ledger.ts";
import { tableRoundTests } from "./tableRoundContract.ts";

/**
 * The behaviour every Ledger backend must show, as a reusable bun:test suite. A backend's test
 * file calls `describeLedgerContract` with a function that opens a fresh, empty ledger; each test
 * gets its own and the audit must pass after every test.
 *
 * Order is part of the contract: writes are applied in the order `write` was called, and a write
 * sees every earlier one (also within one group-commit batch). So of several in-flight copies of
 * one command the first commits and the others are duplicates carrying its reply, and of two
 * different commands racing for the same seq the first wins and the other is `stale_seq`.
 */

/** Backend-specific ways to corrupt a ledger behind its back, to prove the audit notices. */
export interface LedgerTamper {
  /** Adds `delta` to the player's stored balance without any posting. */
  skewBalance(ledger: Ledger, playerId: string, delta: number): Promise<void>;
  /** Adds `delta` to one posting of the command, so its entry no longer sums to zero. */
  unbalanceCommand(
    ledger: Ledger,
    playerId: string,
    commandId: string,
    delta: number,
  ): Promise<void>;
  /**
   * Adds a balanced pair of postings (house:slot -amount, cash +amount) under a journal id no
   * journal row has; returns that id.
   */
  addOrphanEntry(ledger: Ledger, amount: number): Promise<number>;
  /** Negates every posting: each entry still sums to zero, the order of the money does not hold. */
  negateAllPostings(ledger: Ledger): Promise<void>;
  /** Sets the `balance_after` of the player's posting in the command. */
  setBalanceAfter(
    ledger: Ledger,
    playerId: string,
    commandId: string,
    value: number,
  ): Promise<void>;
  /** Swaps the seqs of two of the player's journal entries. */
  swapSeqs(ledger: Ledger, playerId: string, seqA: number, seqB: number): Promise<void>;
  /** Moves the command's posting on account `from` to account `to`. */
  renamePostingAccount(
    ledger: Ledger,
    playerId: string,
    commandId: string,
    from: string,
    to: string,
  ): Promise<void>;
  /** Sets the kind of the command's posting to its player's account. */
  setPlayerPostingKind(
    ledger: Ledger,
    playerId: string,
    commandId: string,
    kind: string | null,
  ): Promise<void>;
}

/** A deposit from the cash account, shaped as the wallet endpoint writes it. */
export function depositWrite(
  playerId: string,
  seq: number,
  id: string,
  amount: number,
): WalletWrite {
  const reply = JSON.stringify({ balance: amount, id });
  return {
    playerId,
    commandId: id,
    requestHash: `deposit:${amount}`,
    seq,
    postings: [
      { account: "cash", amount: -amount },
      { account: `player:${playerId}`, amount, kind: "deposit" },
    ],
    reply,
    event: JSON.stringify({ type: "balance", seq, reason: "deposit" }),
  };
}

/** A slot spin: bet to the house, then (if any) the win back; the reply is the event. */
export function spinWrite(
  playerId: string,
  seq: number,
  id: string,
  bet: number,
  win: number,
): WalletWrite {
  const roundId = `round-${playerId}-${id}`;
  const postings: Posting[] = [
    { account: `player:${playerId}`, amount: -bet, kind: "bet" },
    { account: "house:slot", amount: bet },
  ];
  if (win > 0) {
    postings.push({ account: "house:slot", amount: -win });
    postings.push({ account: `player:${playerId}`, amount: win, kind: "win" });
  }
  const reply = JSON.stringify({ type: "spin.result", id, seq, roundId, bet, win });
  return {
    playerId,
    commandId: id,
    requestHash: `spin:slot:${bet}`,
    seq,
    postings,
    reply,
    event: reply,
    round: { roundId, game: "slot", detail: JSON.stringify({ roundId, bet, win }) },
  };
}

/** A spin marked as a wager: the store checks the player's limits before the debit. */
export function betWrite(
  playerId: string,
  seq: number,
  id: string,
  bet: number,
  win: number,
): WalletWrite {
  return { ...spinWrite(playerId, seq, id, bet, win), wager: { amount: bet } };
}

function committed(outcome: WriteOutcome): number {
  if (outcome.status !== "committed") throw new Error(`expected committed, got ${outcome.status}`);
  return outcome.balance;
}

async function expectInternal(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(CroupierError);
  expect((error as CroupierError).code).toBe("INTERNAL");
}

/** Committed writes: money, reply, event, and many players at once. */
function commitTests(fixture: Fixture): void {
  test("ledger - a player never written has balance 0, seq 0 and does not exist", async () => {
    const ledger = fixture.ledger();
    expect(await ledger.loadPlayer("nobody")).toEqual({
      playerId: "nobody",
      balance: 0,
      seq: 0,
      exists: false,
    });
    expect(await ledger.findCommand("nobody", "c1")).toBeUndefined();
    expect(await ledger.eventsAfter("nobody", 0, 10)).toEqual([]);
    expect(await ledger.history("nobody", 10)).toEqual([]);
  });

  test("ledger - a committed write moves money, stores its reply and appends its event", async () => {
    const ledger = fixture.ledger();
    expect(committed(await ledger.write(depositWrite("p1", 1, "d1", 1_000)))).toBe(1_000);
    const spin = spinWrite("p1", 2, "s1", 100, 250);
    expect(committed(await ledger.write(spin))).toBe(1_150);
    expect(await ledger.loadPlayer("p1")).toEqual({
      playerId: "p1",
      balance: 1_150,
      seq: 2,
      exists: true,
    });
    expect(await ledger.findCommand("p1", "s1")).toEqual({
      requestHash: spin.requestHash,
      reply: spin.reply,
      seq: 2,
    });
    const events = await ledger.eventsAfter("p1", 0, 10);
    expect(events.map((event) => event.seq)).toEqual([1, 2]);
    expect(events[1]?.event).toBe(spin.event);
    expect(ledger.healthy()).toBe(true);
    expect(ledger.durability()).not.toBe("");
  });

  test("ledger - many players writing at once each see their own order", async () => {
    const ledger = fixture.ledger();
    const playersCount = 100;
    const spinsPerPlayer = 5;
    await Promise.all(
      Array.from({ length: playersCount }, async (_, index) => {
        const player = `p${index}`;
        committed(await ledger.write(depositWrite(player, 1, "d1", 1_000)));
        for (let seq = 2; seq <= spinsPerPlayer + 1; seq++) {
          committed(
            await ledger.write(spinWrite(player, seq, `s${seq}`, 20, seq % 2 === 0 ? 30 : 0)),
          );
        }
      }),
    );
    const sample = await ledger.loadPlayer("p42");
    expect(sample).toMatchObject({ seq: spinsPerPlayer + 1, balance: 1_000 - 5 * 20 + 3 * 30 });
    const report = await ledger.audit();
    expect(report.counts).toEqual({
      players: playersCount,
      commands: playersCount * (spinsPerPlayer + 1),
      postings: playersCount * (2 + 3 * 4 + 2 * 2),
    });
  });
}

/** Idempotency: one command id moves money at most once, whatever the retries. */
function idempotencyTests(fixture: Fixture): void {
  test("ledger - the same id twice moves money once and returns the stored reply", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    const spin = spinWrite("p1", 2, "s1", 100, 0);
    expect(committed(await ledger.write(spin))).toBe(900);
    // A retry carries the seq the client's first attempt had: idempotency answers before fencing.
    expect(await ledger.write(spin)).toEqual({ status: "duplicate", reply: spin.reply });
    expect(await ledger.write({ ...spin, seq: 3 })).toEqual({
      status: "duplicate",
      reply: spin.reply,
    });
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 900, seq: 2 });
  });

  test("ledger - 20 copies of one command in flight: the first commits, 19 are duplicates", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    const spin = spinWrite("p1", 2, "s1", 100, 0);
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => ledger.write(spin)));
    expect(outcomes[0]).toEqual({ status: "committed", balance: 900 });
    expect(outcomes.slice(1)).toEqual(Array(19).fill({ status: "duplicate", reply: spin.reply }));
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 900, seq: 2 });
  });

  test("ledger - the same id with other parameters is a conflict and moves nothing", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    expect(await ledger.write(depositWrite("p1", 2, "d1", 5_000))).toEqual({
      status: "conflict",
    });
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 1_000, seq: 1 });
  });
}

/** Refusals move nothing: funds, fencing, and programmer errors, also inside a batch. */
function refusalTests(fixture: Fixture): void {
  test("ledger - insufficient funds moves nothing and leaves the id unused", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 100));
    expect(await ledger.write(spinWrite("p1", 2, "s1", 500, 0))).toEqual({
      status: "insufficient_funds",
    });
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 100, seq: 1 });
    expect(await ledger.findCommand("p1", "s1")).toBeUndefined();
    expect(await ledger.findRound("round-p1-s1")).toBeUndefined();
    // The id is free: the same id (even with another bet) commits later at the same seq.
    expect(committed(await ledger.write(spinWrite("p1", 2, "s1", 50, 0)))).toBe(50);
  });

  test("ledger - the balance may not dip below zero part-way through a write", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 100));
    // The win would cover it, but the bet is posted first and takes the balance below zero.
    expect(await ledger.write(spinWrite("p1", 2, "s1", 200, 1_000))).toEqual({
      status: "insufficient_funds",
    });
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 100, seq: 1 });
  });

  test("ledger - a write whose seq is not the next one is stale and moves nothing", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    expect(await ledger.write(spinWrite("p1", 5, "s1", 100, 0))).toEqual({
      status: "stale_seq",
      currentSeq: 1,
    });
    expect(await ledger.write(spinWrite("p1", 1, "s2", 100, 0))).toEqual({
      status: "stale_seq",
      currentSeq: 1,
    });
    expect(await ledger.write(spinWrite("nobody", 2, "s3", 100, 0))).toEqual({
      status: "stale_seq",
      currentSeq: 0,
    });
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 1_000, seq: 1 });
  });

  test("ledger - two writers racing on one seq: exactly one wins, the other moves nothing", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    const [first, second] = await Promise.all([
      ledger.write(spinWrite("p1", 2, "node-a", 100, 0)),
      ledger.write(spinWrite("p1", 2, "node-b", 300, 0)),
    ]);
    expect(first).toEqual({ status: "committed", balance: 900 });
    expect(second).toEqual({ status: "stale_seq", currentSeq: 2 });
    expect(await ledger.findCommand("p1", "node-b")).toBeUndefined();
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 900, seq: 2 });
  });

  test("ledger - one refused write does not fail the rest of its batch", async () => {
    const ledger = fixture.ledger();
    for (const player of ["a", "b", "c", "d"])
      await ledger.write(depositWrite(player, 1, "d1", 100));
    const unbalanced = spinWrite("d", 2, "bad", 10, 0);
    unbalanced.postings = [{ account: "player:d", amount: -10, kind: "bet" }];
    const [a, b, c, d] = [
      ledger.write(spinWrite("a", 2, "s1", 10, 0)),
      ledger.write(spinWrite("b", 2, "s1", 1_000, 0)),
      ledger.write(spinWrite("c", 2, "s1", 10, 30)),
      // Its refusal is watched from now on (it may come before the others' answers).
      expectInternal(ledger.write(unbalanced)),
    ];
    expect(await a).toEqual({ status: "committed", balance: 90 });
    expect(await b).toEqual({ status: "insufficient_funds" });
    expect(await c).toEqual({ status: "committed", balance: 120 });
    await d;
    expect(await ledger.loadPlayer("d")).toMatchObject({ balance: 100, seq: 1 });
    expect(await ledger.findCommand("d", "bad")).toBeUndefined();
  });

  test("ledger - a write of the wrong shape is refused alone; its batch and later writes go on", async () => {
    const ledger = fixture.ledger();
    for (const player of ["a", "b"]) await ledger.write(depositWrite(player, 1, "d1", 100));
    const noPlayer = { ...spinWrite("x", 2, "s1", 10, 0), playerId: undefined };
    const nullPosting = { ...spinWrite("x", 2, "s2", 10, 0), postings: [null] };
    const malformed = [null, noPlayer, nullPosting] as unknown as WalletWrite[];
    const settled = await Promise.allSettled([
      ...malformed.map((write) => ledger.write(write)),
      ledger.write(spinWrite("a", 2, "s1", 10, 0)),
    ]);
    expectRefused(settled.slice(0, malformed.length));
    expect(settled.at(-1)).toEqual({
      status: "fulfilled",
      value: { status: "committed", balance: 90 },
    });
    expect(await ledger.write(spinWrite("b", 2, "s1", 10, 0))).toEqual({
      status: "committed",
      balance: 90,
    });
  });

  test("ledger - ids with a lone surrogate are refused: stored, two such ids would be one", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("a", 1, "d1", 100));
    const malformed = [
      { ...spinWrite("a", 2, "s", 10, 0), commandId: "x\uD800" },
      { ...spinWrite("a", 2, "s", 10, 0), commandId: "x\uDC00" },
      { ...depositWrite("a", 1, "d1", 100), playerId: "\uD800" },
    ];
    const settled = await Promise.allSettled([
      ...malformed.map((write) => ledger.write(write)),
      // A well-formed pair of surrogates is a character like any other.
      ledger.write({ ...spinWrite("a", 2, "s", 10, 0), commandId: "x\uD83C\uDFB0" }),
    ]);
    expectRefused(settled.slice(0, malformed.length));
    expect(settled.at(-1)).toEqual({
      status: "fulfilled",
      value: { status: "committed", balance: 90 },
    });
  });

  test("ledger - a day's loss past 2^53 is held at 2^53-1: the player's later writes and others' go on", async () => {
    const ledger = fixture.ledger();
    const half = 2 ** 52;
    await ledger.setLimits("rich", { selfExcludedUntil: null, lossLimitPerDay: null });
    await ledger.write(depositWrite("rich", 1, "d1", half));
    expect(await ledger.write(spinWrite("rich", 2, "s1", half, 0))).toMatchObject({ balance: 0 });
    await ledger.write(depositWrite("rich", 3, "d2", half));
    expect(await ledger.write(spinWrite("rich", 4, "s2", half, 0))).toMatchObject({ balance: 0 });
    await ledger.write(depositWrite("rich", 5, "d3", 100));
    await ledger.write(depositWrite("other", 1, "d1", 100));
    const [rich, other] = await Promise.all([
      ledger.write(spinWrite("rich", 6, "s3", 10, 0)),
      ledger.write(spinWrite("other", 2, "s1", 10, 0)),
    ]);
    expect(rich).toEqual({ status: "committed", balance: 90 });
    expect(other).toEqual({ status: "committed", balance: 90 });
    // A limit set now is already past: the day's loss still counts as the most it can.
    await ledger.setLimits("rich", { selfExcludedUntil: null, lossLimitPerDay: 1_000 });
    expect(
      await ledger.write({ ...spinWrite("rich", 7, "s4", 10, 0), wager: { amount: 10 } }),
    ).toEqual({
      status: "loss_limit",
    });
  });

  test("ledger - postings that are not non-zero safe integers or hit another player are refused", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    const shapes: Posting[][] = [
      [
        { account: "player:p1", amount: -1.5, kind: "bet" },
        { account: "house:slot", amount: 1.5 },
      ],
      [
        { account: "player:p1", amount: 0, kind: "bet" },
        { account: "house:slot", amount: 0 },
      ],
      [
        { account: "cash", amount: -(2 ** 53) },
        { account: "player:p1", amount: 2 ** 53, kind: "deposit" },
      ],
      [
        { account: "player:p1", amount: -10, kind: "bet" },
        { account: "player:p2", amount: 10, kind: "win" },
      ],
    ];
    for (const postings of shapes) {
      await expectInternal(ledger.write({ ...spinWrite("p1", 2, "s1", 10, 0), postings }));
    }
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 1_000, seq: 1 });
    expect(await ledger.loadPlayer("p2")).toMatchObject({ exists: false });
  });
}

/** Reads: wallet history with cursors, event replay, rounds. */
function readTests(fixture: Fixture): void {
  test("ledger - history pages newest first with cursors, one entry per player posting", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    await ledger.write(spinWrite("p1", 2, "s1", 100, 0));
    await ledger.write(spinWrite("p1", 3, "s2", 100, 300));
    await ledger.write(spinWrite("p1", 4, "s3", 50, 0));
    const all = await ledger.history("p1", 100);
    expect(all.map((entry) => [entry.id, entry.kind, entry.amount, entry.balanceAfter])).toEqual([
      ["s3", "bet", -50, 1_050],
      ["s2", "win", 300, 1_100],
      ["s2", "bet", -100, 800],
      ["s1", "bet", -100, 900],
      ["d1", "deposit", 1_000, 1_000],
    ]);
    const paged = [];
    let before: number | undefined;
    for (let page = 0; page < 10; page++) {
      const entries = await ledger.history("p1", 2, before);
      if (entries.length === 0) break;
      expect(entries.length).toBeLessThanOrEqual(2);
      for (const entry of entries) {
        if (before !== undefined) expect(entry.cursor).toBeLessThan(before);
      }
      paged.push(...entries);
      before = entries.at(-1)?.cursor;
    }
    expect(paged).toEqual(all);
    expect(all.every((entry) => Number.isSafeInteger(entry.at) && entry.at > 0)).toBe(true);
  });

  test("ledger - eventsAfter replays in seq order from any point, at most limit", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    for (let seq = 2; seq <= 6; seq++) await ledger.write(spinWrite("p1", seq, `s${seq}`, 10, 0));
    expect((await ledger.eventsAfter("p1", 0, 100)).map((event) => event.seq)).toEqual([
      1, 2, 3, 4, 5, 6,
    ]);
    expect((await ledger.eventsAfter("p1", 3, 2)).map((event) => event.seq)).toEqual([4, 5]);
    expect(await ledger.eventsAfter("p1", 6, 10)).toEqual([]);
    const [deposit] = await ledger.eventsAfter("p1", 0, 1);
    expect(deposit?.event).toBe(depositWrite("p1", 1, "d1", 1_000).event);
  });

  test("ledger - findRound returns a committed spin's round", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    const spin = spinWrite("p1", 2, "s1", 100, 0);
    await ledger.write(spin);
    const round = await ledger.findRound("round-p1-s1");
    expect(round).toMatchObject({
      roundId: "round-p1-s1",
      playerId: "p1",
      game: "slot",
      detail: spin.round?.detail,
    });
    expect(round?.at).toBeGreaterThan(0);
    expect(await ledger.findRound("round-none")).toBeUndefined();
  });
}

/** The audit notices a ledger corrupted behind its back. */
function tamperTests(fixture: Fixture, tamper: LedgerTamper): void {
  test("ledger - audit reports a balance that disagrees with its postings", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    await ledger.write(spinWrite("p1", 2, "s1", 100, 0));
    fixture.markCorrupted();
    await tamper.skewBalance(ledger, "p1", 7);
    const report = await ledger.audit();
    expect(report.ok).toBe(false);
    expect(report.failures.join("\n")).toContain("invariant 3: player p1: balance 907");
  });

  test("ledger - audit reports an entry whose postings do not sum to zero", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    await ledger.write(spinWrite("p1", 2, "s1", 100, 0));
    fixture.markCorrupted();
    await tamper.unbalanceCommand(ledger, "p1", "s1", 5);
    const report = await ledger.audit();
    expect(report.ok).toBe(false);
    const text = report.failures.join("\n");
    expect(text).toContain("invariant 2: player p1 command s1: postings sum to 5");
    expect(text).toContain("invariant 2: all postings sum to 5");
  });

  test("ledger - audit reports a running balance that went below zero though every total agrees", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 100));
    await ledger.write(spinWrite("p1", 2, "s1", 100, 0));
    fixture.markCorrupted();
    // p1 now stakes 100 before having it, and the deposit comes after; totals are unchanged.
    await tamper.negateAllPostings(ledger);
    const report = await ledger.audit();
    expect(report.ok).toBe(false);
    const text = report.failures.join("\n");
    expect(text).toMatch(
      /invariant 1: player p1 journal entry \d+: the running balance goes to -100/,
    );
    expect(text).toMatch(
      /invariant 3: player p1 journal entry \d+: balance_after is 100, expected -100 \(the sum of the player's postings up to it\)/,
    );
  });

  test("ledger - audit reports a balance_after in the middle that is not the running balance", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    await ledger.write(spinWrite("p1", 2, "s1", 100, 0));
    await ledger.write(spinWrite("p1", 3, "s2", 100, 0));
    fixture.markCorrupted();
    await tamper.setBalanceAfter(ledger, "p1", "s1", 5_000);
    const report = await ledger.audit();
    expect(report.ok).toBe(false);
    expect(report.failures.join("\n")).toMatch(
      /invariant 3: player p1 journal entry \d+: balance_after is 5000, expected 900/,
    );
  });

  test("ledger - audit reports seqs that do not follow the order the entries were made in", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    await ledger.write(spinWrite("p1", 2, "s1", 100, 0));
    await ledger.write(spinWrite("p1", 3, "s2", 100, 0));
    fixture.markCorrupted();
    await tamper.swapSeqs(ledger, "p1", 2, 3);
    const report = await ledger.audit();
    expect(report.ok).toBe(false);
    expect(report.failures.join("\n")).toContain("invariant 4: player p1");
  });

  test("ledger - audit reports, rather than fails on, a tampered amount past 2^53", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    await ledger.write(spinWrite("p1", 2, "s1", 100, 0));
    fixture.markCorrupted();
    await tamper.unbalanceCommand(ledger, "p1", "s1", 2 ** 53);
    const report = await ledger.audit();
    expect(report.ok).toBe(false);
    expect(report.failures.join("\n")).toContain(
      "invariant 2: player p1 command s1: postings sum to",
    );
  });

  test("ledger - audit reports an entry that moves another player's money or an unknown account's", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("a", 1, "a1", 100));
    await ledger.write(depositWrite("a", 2, "a2", 50));
    await ledger.write(depositWrite("b", 1, "b1", 100));
    await ledger.write(depositWrite("c", 1, "c1", 100));
    fixture.markCorrupted();
    await tamper.renamePostingAccount(ledger, "a", "a2", "player:a", "player:b");
    await tamper.renamePostingAccount(ledger, "c", "c1", "cash", "nowhere");
    const text = (await ledger.audit()).failures.join("\n");
    expect(text).toMatch(
      /invariant 2: player a command a2: posting \d is to player:b, neither the entry's player nor a house, cash or promo account/,
    );
    expect(text).toMatch(/invariant 2: player c command c1: posting \d is to nowhere, neither/);
  });

  test("ledger - audit reports a player posting without an entry kind", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("a", 1, "a1", 100));
    fixture.markCorrupted();
    await tamper.setPlayerPostingKind(ledger, "a", "a1", null);
    const report = await ledger.audit();
    expect(report.failures.join("\n")).toMatch(
      /invariant 3: player a command a1: posting \d to the player's account has kind null, not an entry kind/,
    );
  });

  test("ledger - audit reports balanced postings that belong to no journal entry", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    fixture.markCorrupted();
    const journalId = await tamper.addOrphanEntry(ledger, 250);
    const report = await ledger.audit();
    expect(report.ok).toBe(false);
    expect(report.failures).toEqual([
      `invariant 2: journal entry ${journalId} (no journal row): postings that belong to no journal entry`,
    ]);
  });
}

/** Player limits, checked in the wager's own transaction. */
function limitsTests(fixture: Fixture): void {
  const hourMs = 3_600_000;

  test("ledger - limits are stored per player; none set reads as nulls", async () => {
    const ledger = fixture.ledger();
    expect(await ledger.getLimits("p1")).toEqual({
      selfExcludedUntil: null,
      lossLimitPerDay: null,
    });
    const limits = { selfExcludedUntil: Date.now() + hourMs, lossLimitPerDay: 5_000 };
    expect(await ledger.setLimits("p1", limits)).toEqual(limits);
    expect(await ledger.getLimits("p1")).toEqual(limits);
    expect(await ledger.getLimits("p2")).toEqual({
      selfExcludedUntil: null,
      lossLimitPerDay: null,
    });
  });

  test("ledger - a self-excluded player's bet is refused, moves nothing and leaves the id unused", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    await ledger.setLimits("p1", { selfExcludedUntil: Date.now() + hourMs, lossLimitPerDay: null });
    expect(await ledger.write(betWrite("p1", 2, "s1", 100, 0))).toEqual({
      status: "self_excluded",
    });
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 1_000, seq: 1 });
    expect(await ledger.findCommand("p1", "s1")).toBeUndefined();
    // Only wagers are refused: money can still come in.
    expect(committed(await ledger.write(depositWrite("p1", 2, "d2", 50)))).toBe(1_050);
  });

  test("ledger - a loss limit is reached mid-session: bets pass until the day's net loss would exceed it", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 10_000));
    await ledger.setLimits("p1", { selfExcludedUntil: null, lossLimitPerDay: 300 });
    // In flight together, so one batch must count its own earlier bets.
    const outcomes = await Promise.all([
      ledger.write(betWrite("p1", 2, "s1", 100, 0)),
      ledger.write(betWrite("p1", 3, "s2", 100, 0)),
      ledger.write(betWrite("p1", 4, "s3", 100, 0)),
      ledger.write(betWrite("p1", 5, "s4", 100, 0)),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      "committed",
      "committed",
      "committed",
      "loss_limit",
    ]);
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 9_700, seq: 4 });
    expect(await ledger.findCommand("p1", "s4")).toBeUndefined();
    // A smaller bet does not fit either: the day's loss is exactly at the limit.
    expect(await ledger.write(betWrite("p1", 5, "s4", 10, 0))).toEqual({ status: "loss_limit" });
  });

  test("ledger - a win gives room again under the loss limit", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 10_000));
    await ledger.setLimits("p1", { selfExcludedUntil: null, lossLimitPerDay: 300 });
    expect(committed(await ledger.write(betWrite("p1", 2, "s1", 100, 0)))).toBe(9_900);
    expect(committed(await ledger.write(betWrite("p1", 3, "s2", 100, 0)))).toBe(9_800);
    // 200 lost + 100 at stake fits; the win of 300 takes the day back to even.
    expect(committed(await ledger.write(betWrite("p1", 4, "s3", 100, 300)))).toBe(10_000);
    expect(committed(await ledger.write(betWrite("p1", 5, "s4", 300, 0)))).toBe(9_700);
    expect(await ledger.write(betWrite("p1", 6, "s5", 100, 0))).toEqual({ status: "loss_limit" });
    // A win settled without a wager of its own (a table payout) counts too.
    const payout: WalletWrite = {
      ...depositWrite("p1", 6, "round:r1", 150),
      requestHash: "payout",
      postings: [
        { account: "house:roulette", amount: -150 },
        { account: "player:p1", amount: 150, kind: "win" },
      ],
    };
    expect(committed(await ledger.write(payout))).toBe(9_850);
    expect(committed(await ledger.write(betWrite("p1", 7, "s5", 100, 0)))).toBe(9_750);
    expect(await ledger.write(betWrite("p1", 8, "s6", 100, 0))).toEqual({ status: "loss_limit" });
  });

  test("ledger - changed limits apply from the next write on", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    await ledger.setLimits("p1", { selfExcludedUntil: null, lossLimitPerDay: 100 });
    expect(await ledger.write(betWrite("p1", 2, "s1", 200, 0))).toEqual({ status: "loss_limit" });
    await ledger.setLimits("p1", { selfExcludedUntil: null, lossLimitPerDay: null });
    expect(committed(await ledger.write(betWrite("p1", 2, "s1", 200, 0)))).toBe(800);
    await ledger.setLimits("p1", { selfExcludedUntil: Date.now() + hourMs, lossLimitPerDay: null });
    expect(await ledger.write(betWrite("p1", 3, "s2", 100, 0))).toEqual({
      status: "self_excluded",
    });
    // An exclusion that has run out no longer refuses.
    await ledger.setLimits("p1", { selfExcludedUntil: Date.now() - 1, lossLimitPerDay: 1_000 });
    expect(committed(await ledger.write(betWrite("p1", 3, "s2", 100, 0)))).toBe(700);
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 700, seq: 3 });
  });

  test("ledger - a retry of a bet accepted before the exclusion still gets its stored reply", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    const bet = betWrite("p1", 2, "s1", 100, 0);
    expect(committed(await ledger.write(bet))).toBe(900);
    await ledger.setLimits("p1", { selfExcludedUntil: Date.now() + hourMs, lossLimitPerDay: 0 });
    expect(await ledger.write(bet)).toEqual({ status: "duplicate", reply: bet.reply });
    expect(await ledger.write({ ...bet, seq: 3 })).toEqual({
      status: "duplicate",
      reply: bet.reply,
    });
    expect(await ledger.write(betWrite("p1", 3, "s2", 100, 0))).toEqual({
      status: "self_excluded",
    });
    // Fencing still answers before the limits.
    expect(await ledger.write(betWrite("p1", 7, "s3", 100, 0))).toEqual({
      status: "stale_seq",
      currentSeq: 2,
    });
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 900, seq: 2 });
  });

  test("ledger - a malformed wager is refused as a programmer error", async () => {
    const ledger = fixture.ledger();
    await ledger.write(depositWrite("p1", 1, "d1", 1_000));
    await expectInternal(
      ledger.write({ ...spinWrite("p1", 2, "s1", 100, 0), wager: { amount: 0 } }),
    );
    await expectInternal(
      ledger.write({ ...spinWrite("p1", 2, "s1", 100, 0), wager: { amount: 1.5 } }),
    );
    // Without an amount at all: not a write without a wager (which would skip the limits).
    for (const wager of [{}, null]) {
      await expectInternal(
        ledger.write({ ...spinWrite("p1", 2, "s1", 100, 0), wager } as unknown as WalletWrite),
      );
    }
    expect(await ledger.loadPlayer("p1")).toMatchObject({ balance: 1_000, seq: 1 });
  });
}

interface Fixture {
  ledger(): Ledger;
  /** The test corrupted the ledger on purpose: skip the audit that follows every test. */
  markCorrupted(): void;
}

/** Each write was refused as a programmer error: rejected with INTERNAL, nothing stored. */
function expectRefused(settled: readonly PromiseSettledResult<unknown>[]): void {
  for (const refused of settled) {
    expect(refused.status).toBe("rejected");
    expect((refused as PromiseRejectedResult).reason).toMatchObject({ code: "INTERNAL" });
  }
}

export function describeLedgerContract(
  name: string,
  openLedger: () => Promise<Ledger>,
  tamper?: LedgerTamper,
): void {
  describe(`ledger contract: ${name}`, () => {
    let ledger: Ledger | undefined;
    let corrupted = false;
    const fixture: Fixture = {
      ledger() {
        if (ledger === undefined) throw new Error("no ledger open");
        return ledger;
      },
      markCorrupted() {
        corrupted = true;
      },
    };

    beforeEach(async () => {
      ledger = await openLedger();
      corrupted = false;
    });

    // Every test leaves a ledger whose invariants hold.
    afterEach(async () => {
      const current = fixture.ledger();
      ledger = undefined;
      try {
        if (!corrupted) {
          const report = await current.audit();
          expect(report.failures).toEqual([]);
          expect(report.ok).toBe(true);
        }
      } finally {
        await current.close();
      }
    });

    commitTests(fixture);
    idempotencyTests(fixture);
    refusalTests(fixture);
    readTests(fixture);
    limitsTests(fixture);
    tableRoundTests(fixture);
    if (tamper !== undefined) tamperTests(fixture, tamper);
  });
}
