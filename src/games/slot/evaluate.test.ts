import { expect, test } from "bun:test";
import { evaluateLine, evaluateStops, evaluateWindow } from "./evaluate.ts";
import { paylineCount, paylines } from "./paylines.ts";
import { linePays, scatterPays } from "./paytable.ts";
import { reelStrips } from "./reels.ts";
import { type LineSymbol, lineSymbols, type SlotSymbol } from "./symbols.ts";

const totalBet = paylineCount * 5;
const lineBet = totalBet / paylineCount;

/**
 * A window in which no line pays: reels 1, 2 and 3 show nine different symbols, so no line can
 * match even on its first two reels, and a wild on reel 2 cannot join reels 1 and 3 either.
 */
const baseRows: readonly (readonly SlotSymbol[])[] = [
  ["SEVEN", "MELON", "ORANGE", "SEVEN", "MELON"],
  ["BAR", "GRAPES", "LEMON", "BAR", "GRAPES"],
  ["BELL", "PLUM", "CHERRY", "BELL", "PLUM"],
];

/** The base window with some cells replaced: `changes` maps "row,reel" to a symbol. */
function windowWith(changes: Record<string, SlotSymbol>): SlotSymbol[][] {
  return baseRows.map((row, r) => row.map((symbol, reel) => changes[`${r},${reel}`] ?? symbol));
}

function middleRow(...symbols: SlotSymbol[]): Record<string, SlotSymbol> {
  return Object.fromEntries(symbols.map((symbol, reel) => [`1,${reel}`, symbol]));
}

function pay(symbol: LineSymbol, count: number): number {
  return linePays[symbol][count - 3] ?? Number.NaN;
}

test("slot - the base test window pays nothing", () => {
  const result = evaluateWindow(windowWith({}), totalBet);
  expect(result).toEqual({ lines: [], scatter: { count: 0, win: 0 }, win: 0 });
});

test("slot - 3, 4 and 5 of a kind from reel 1 pay the paytable on the line they are on", () => {
  for (const count of [3, 4, 5]) {
    const symbols = Array.from({ length: count }, (): SlotSymbol => "LEMON");
    const result = evaluateWindow(windowWith(middleRow(...symbols)), totalBet);
    const win = pay("LEMON", count) * lineBet;
    expect(result.lines).toEqual([{ line: 1, symbol: "LEMON", count, win }]);
    expect(result.win).toBe(win);
  }
});

test("slot - two of a kind pays nothing", () => {
  const result = evaluateWindow(windowWith(middleRow("SEVEN", "SEVEN")), totalBet);
  expect(result.win).toBe(0);
  expect(result.lines).toEqual([]);
});

test("slot - a run that does not start on reel 1 pays nothing", () => {
  const changes = middleRow("BAR", "CHERRY", "CHERRY", "CHERRY", "CHERRY");
  expect(evaluateWindow(windowWith(changes), totalBet).win).toBe(0);
});

test("slot - a wild completes a line for the symbol it stands in for", () => {
  const result = evaluateWindow(windowWith(middleRow("LEMON", "WILD")), totalBet);
  expect(result.lines).toEqual([
    { line: 1, symbol: "LEMON", count: 3, win: pay("LEMON", 3) * lineBet },
  ]);
});

test("slot - wins on different lines add up", () => {
  const changes: Record<string, SlotSymbol> = {};
  for (let row = 0; row < 3; row++) {
    for (let reel = 0; reel < 3; reel++) changes[`${row},${reel}`] = "LEMON";
  }
  const result = evaluateWindow(windowWith(changes), totalBet);
  expect(result.lines.map((line) => line.line)).toEqual(
    Array.from({ length: paylineCount }, (_, i) => i + 1),
  );
  for (const line of result.lines) expect(line).toMatchObject({ symbol: "LEMON", count: 3 });
  expect(result.win).toBe(paylineCount * pay("LEMON", 3) * lineBet);
});

test("slot - scatters pay anywhere in the window, times the total bet", () => {
  const two = windowWith({ "0,0": "SCATTER", "2,2": "SCATTER" });
  expect(evaluateWindow(two, totalBet).scatter).toEqual({ count: 2, win: 0 });

  const three = windowWith({ "0,0": "SCATTER", "2,2": "SCATTER", "1,4": "SCATTER" });
  const result = evaluateWindow(three, totalBet);
  const win = (scatterPays[3] ?? Number.NaN) * totalBet;
  expect(result).toEqual({ lines: [], scatter: { count: 3, win }, win });
});

test("slot - scatter and line wins are paid together", () => {
  const changes: Record<string, SlotSymbol> = {
    ...middleRow("LEMON", "LEMON", "LEMON"),
    "0,0": "SCATTER",
    "0,2": "SCATTER",
  };
  const result = evaluateWindow(windowWith({ ...changes, "2,4": "SCATTER" }), totalBet);
  expect(result.win).toBe(pay("LEMON", 3) * lineBet + (scatterPays[3] ?? Number.NaN) * totalBet);
});

test("slot - evaluateLine picks the best of the wilds alone and the substituted symbol", () => {
  // The tie case below relies on these two pays being equal.
  expect(pay("WILD", 3)).toBe(pay("MELON", 4));
  const cases: [SlotSymbol[], LineSymbol, number][] = [
    [["WILD", "WILD", "WILD", "CHERRY", "BAR"], "WILD", 3],
    [["WILD", "WILD", "SEVEN", "SEVEN", "SEVEN"], "SEVEN", 5],
    [["WILD", "WILD", "WILD", "SEVEN", "SEVEN"], "SEVEN", 5],
    [["WILD", "WILD", "WILD", "WILD", "CHERRY"], "WILD", 4],
    [["WILD", "WILD", "WILD", "WILD", "WILD"], "WILD", 5],
    [["WILD", "WILD", "WILD", "MELON", "BAR"], "WILD", 3],
    [["CHERRY", "CHERRY", "WILD", "CHERRY", "LEMON"], "CHERRY", 4],
    [["BAR", "WILD", "WILD", "WILD", "WILD"], "BAR", 5],
  ];
  for (const [symbols, symbol, count] of cases) {
    expect(evaluateLine(symbols)).toEqual({ symbol, count, pay: pay(symbol, count) });
  }
});

test("slot - every payline of a window pays what evaluateLine pays for its symbols", () => {
  // Windows drawn from a small pseudo-random sequence, half of them from only three symbols
  // so that wilds, long runs and ties come up often, with at most one scatter per reel as on
  // the strips. Each line is paid through the game's per-spin tables; evaluateLine (what the
  // exact math uses) must agree on every one.
  let state = 7;
  const next = (n: number): number => {
    state = (state * 48271) % 2147483647;
    return state % n;
  };
  for (let i = 0; i < 5000; i++) {
    const range = i % 2 === 0 ? lineSymbols.length : 3;
    const window = [0, 1, 2].map(() =>
      [0, 1, 2, 3, 4].map((): SlotSymbol => lineSymbols[next(range)] ?? "WILD"),
    );
    for (let reel = 0; reel < 5; reel++) {
      const row = window[next(6)];
      if (row !== undefined) row[reel] = "SCATTER";
    }
    const result = evaluateWindow(window, totalBet);
    const expected = paylines.flatMap((rows, index) => {
      const best = evaluateLine(rows.map((row, reel) => window[row]?.[reel] ?? "SCATTER"));
      if (best === undefined) return [];
      return [{ line: index + 1, symbol: best.symbol, count: best.count, win: best.pay * lineBet }];
    });
    expect(result.lines).toEqual(expected);
  }
});

test("slot - a scatter ends a line and never starts one", () => {
  const lines: SlotSymbol[][] = [
    ["CHERRY", "SCATTER", "CHERRY", "CHERRY", "CHERRY"],
    ["SCATTER", "CHERRY", "CHERRY", "CHERRY", "CHERRY"],
    ["WILD", "WILD", "SCATTER", "CHERRY", "CHERRY"],
    ["SCATTER", "SCATTER", "SCATTER", "SCATTER", "SCATTER"],
  ];
  for (const symbols of lines) expect(evaluateLine(symbols)).toBeUndefined();
  const cut = evaluateLine(["CHERRY", "CHERRY", "CHERRY", "SCATTER", "CHERRY"]);
  expect(cut).toEqual({ symbol: "CHERRY", count: 3, pay: pay("CHERRY", 3) });
});

test("slot - the window shows the stop on top and wraps at the end of a strip", () => {
  const stops = reelStrips.map((strip) => strip.length - 1);
  const { window } = evaluateStops(stops, totalBet);
  reelStrips.forEach((strip, reel) => {
    expect(window.map((row) => row[reel])).toEqual([strip[strip.length - 1], strip[0], strip[1]]);
  });
});

test("slot - wins are whole minor units and add up to the total", () => {
  const bet = paylineCount * 7;
  for (let i = 0; i < 5000; i++) {
    const stops = reelStrips.map((strip, reel) => (i * (reel + 3) * 7919) % strip.length);
    const outcome = evaluateStops(stops, bet);
    const lineSum = outcome.lines.reduce((sum, line) => sum + line.win, 0);
    for (const line of outcome.lines) expect(line.win % (bet / paylineCount)).toBe(0);
    expect(outcome.scatter.win % bet).toBe(0);
    expect(outcome.win).toBe(lineSum + outcome.scatter.win);
    expect(Number.isSafeInteger(outcome.win)).toBe(true);
  }
});

test("slot - evaluation rejects bets that are not positive multiples of the line count", () => {
  const window = windowWith({});
  for (const bet of [0, -paylineCount, paylineCount + 1, 1.5, Number.NaN, 2 ** 53]) {
    expect(() => evaluateWindow(window, bet)).toThrow(/multiple of/);
  }
  expect(() => evaluateStops([0, 0, 0, 0], totalBet)).toThrow(/reel stops/);
  expect(() => evaluateStops([0, 0, 0, 0, -1], totalBet)).toThrow(/outside/);
});
