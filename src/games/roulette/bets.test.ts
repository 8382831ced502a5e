import { expect, test } from "bun:test";
import { CroupierError } from "../../errors.ts";
import {
  betCovers,
  parseRouletteBet,
  payoutMultiplier,
  type RouletteBet,
  RouletteBetError,
  settleBet,
} from "./bets.ts";

// Everything below is written out from docs/PROTOCOL.md ("Tables") and the layout of a
// European wheel, without asking the implementation which pockets a bet covers.

const pockets = Array.from({ length: 37 }, (_, i) => i);

function range(from: number, to: number, step = 1): number[] {
  const values: number[] = [];
  for (let v = from; v <= to; v += step) values.push(v);
  return values;
}

const red = [1, 3, 5, 7, 9, 12, 14, 16, 18, 19, 21, 23, 25, 27, 30, 32, 34, 36];
const black = range(1, 36).filter((v) => !red.includes(v));

interface Case {
  readonly bet: RouletteBet;
  readonly covers: readonly number[];
  /** The odds to one as the protocol states them. */
  readonly odds: number;
}

const cases: Case[] = [
  ...pockets.map((k) => ({ bet: { kind: "straight", number: k } as const, covers: [k], odds: 35 })),
  { bet: { kind: "red" }, covers: red, odds: 1 },
  { bet: { kind: "black" }, covers: black, odds: 1 },
  { bet: { kind: "even" }, covers: range(2, 36, 2), odds: 1 },
  { bet: { kind: "odd" }, covers: range(1, 35, 2), odds: 1 },
  { bet: { kind: "low" }, covers: range(1, 18), odds: 1 },
  { bet: { kind: "high" }, covers: range(19, 36), odds: 1 },
  ...([1, 2, 3] as const).map((n) => ({
    bet: { kind: "dozen", n } as const,
    covers: range(12 * (n - 1) + 1, 12 * n),
    odds: 2,
  })),
  ...([1, 2, 3] as const).map((n) => ({
    bet: { kind: "column", n } as const,
    covers: range(n, 36, 3),
    odds: 2,
  })),
];

test("roulette bets - the hand-written coverage sets match the wheel's layout", () => {
  expect(red).toHaveLength(18);
  expect(black).toHaveLength(18);
  for (const kind of ["dozen", "column"]) {
    const sets = cases.filter((c) => c.bet.kind === kind).map((c) => c.covers);
    expect(sets.every((s) => s.length === 12)).toBe(true);
    expect(sets.flat().sort((a, b) => a - b)).toEqual(range(1, 36));
  }
  // Column 1 is 1, 4, ..., 34; column 3 is 3, 6, ..., 36.
  expect(cases.find((c) => c.bet.kind === "column" && c.bet.n === 3)?.covers).toContain(36);
  expect(cases.find((c) => c.bet.kind === "column" && c.bet.n === 1)?.covers).toContain(34);
});

for (const { bet, covers, odds } of cases) {
  test(`roulette bets - ${JSON.stringify(bet)} pays ${odds}:1 on exactly its pockets`, () => {
    expect(payoutMultiplier(bet)).toBe(odds);
    for (const number of pockets) {
      const covered = covers.includes(number);
      expect(betCovers(bet, number)).toBe(covered);
      for (const stake of [1, 7, 250, 1_000_000]) {
        expect(settleBet(bet, stake, number)).toBe(covered ? stake + stake * odds : 0);
      }
    }
  });
}

test("roulette bets - zero loses every bet except a straight bet on 0", () => {
  for (const { bet } of cases) {
    const winsOnZero = bet.kind === "straight" && bet.number === 0;
    expect(settleBet(bet, 100, 0)).toBe(winsOnZero ? 3600 : 0);
  }
});

test("roulette bets - every bet returns 36/37 of its stakes over one spin of each pocket", () => {
  // The single-zero house edge: each bet's total win over all 37 pockets is 36 stakes.
  for (const { bet } of cases) {
    const total = pockets.reduce((sum, number) => sum + settleBet(bet, 1, number), 0);
    expect(total).toBe(36);
  }
});

test("roulette bets - stakes and wins must be safe integers", () => {
  const bet: RouletteBet = { kind: "straight", number: 17 };
  for (const stake of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
    expect(() => settleBet(bet, stake, 17)).toThrow(/stake/);
  }
  const tooLarge = Math.floor(Number.MAX_SAFE_INTEGER / 36) + 1;
  expect(() => settleBet(bet, tooLarge, 17)).toThrow(/safe integer/);
  expect(settleBet(bet, tooLarge, 18)).toBe(0);
  expect(settleBet(bet, tooLarge - 1, 17)).toBe((tooLarge - 1) * 36);
});

test("roulette bets - a number off the wheel is a programming error", () => {
  for (const number of [-1, 37, 1.5, Number.NaN]) {
    expect(() => betCovers({ kind: "red" }, number)).toThrow(/0\.\.36/);
    expect(() => settleBet({ kind: "red" }, 10, number)).toThrow(/0\.\.36/);
  }
});

test("roulette bets - parses every well-formed bet and drops unknown fields", () => {
  for (const { bet } of cases) {
    expect(parseRouletteBet(JSON.parse(JSON.stringify(bet)))).toEqual(bet);
  }
  expect(parseRouletteBet({ kind: "red", number: 5, n: 9, colour: "blue" })).toEqual({
    kind: "red",
  });
  expect(parseRouletteBet({ kind: "straight", number: 0, n: "x" })).toEqual({
    kind: "straight",
    number: 0,
  });
  expect(parseRouletteBet({ kind: "dozen", n: 3, number: 99 })).toEqual({ kind: "dozen", n: 3 });
});

const malformed: unknown[] = [
  undefined,
  null,
  7,
  "red",
  [],
  [{ kind: "red" }],
  {},
  { kind: 1 },
  { kind: "RED" },
  { kind: "split", numbers: [1, 2] },
  { kind: "toString" },
  { kind: "straight" },
  { kind: "straight", number: -1 },
  { kind: "straight", number: 37 },
  { kind: "straight", number: 1.5 },
  { kind: "straight", number: "7" },
  { kind: "straight", number: null },
  { kind: "straight", number: Number.NaN },
  { kind: "straight", number: Number.POSITIVE_INFINITY },
  { kind: "dozen" },
  { kind: "dozen", n: 0 },
  { kind: "dozen", n: 4 },
  { kind: "dozen", n: 1.5 },
  { kind: "dozen", n: "1" },
  { kind: "column" },
  { kind: "column", n: -1 },
  { kind: "column", n: [2] },
];

test("roulette bets - malformed bets are BAD_REQUEST", () => {
  for (const value of malformed) {
    let thrown: unknown;
    try {
      parseRouletteBet(value);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(RouletteBetError);
    expect(thrown).toBeInstanceOf(CroupierError);
    expect((thrown as RouletteBetError).code).toBe("BAD_REQUEST");
  }
});
