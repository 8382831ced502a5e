import { betPerLine } from "./bet.ts";
import type { LineWin, SlotOutcome } from "./outcome.ts";
import { paylineCount, paylines, reelCount, rowCount } from "./paylines.ts";
import { lineCountMax, linePayFor, paytableVersion, scatterPayFor } from "./paytable.ts";
import { reelStrips } from "./reels.ts";
import {
  allSymbols,
  type LineSymbol,
  lineSymbols,
  SCATTER,
  type SlotSymbol,
  symbolId,
  WILD,
} from "./symbols.ts";

/*
 * Spins are evaluated on numeric symbol ids (see `symbolId`), not names: the window is a
 * Uint8Array of cells, row by row (cell = row * reelCount + reel), and everything else comes
 * from tables built once at load from the paytable, the paylines and the strips. Symbol names
 * appear only in what is returned.
 */

const wildId = symbolId(WILD);
const scatterId = symbolId(SCATTER);
const cellCount = rowCount * reelCount;

/**
 * Line pays by symbol id and count: `linePayTable[id * payStride + count]`, 0 where nothing pays
 * (counts under 3, and the scatter, which never pays on a line). A line's result is encoded as
 * its index in this table, which gives the symbol, the count and the pay at once.
 */
const payStride = lineCountMax + 1;
const linePayTable = new Uint32Array(allSymbols.length * payStride);
for (const symbol of lineSymbols) {
  for (let count = 0; count <= lineCountMax; count++) {
    linePayTable[symbolId(symbol) * payStride + count] = linePayFor(symbol, count);
  }
}

/** The result of a line that pays nothing. */
const noWin = -1;

/** For each payline, the window cell it crosses on each reel: `lineCells[line * reelCount + reel]`. */
const lineCells = Uint8Array.from(
  paylines.flatMap((rows) => rows.map((row, reel) => row * reelCount + reel)),
);

const stripLengths = reelStrips.map((strip) => strip.length);

/** Each strip as symbol ids, followed by its first stops again so a window never needs to wrap. */
const stripIds = reelStrips.map((strip) => {
  const ids = new Uint8Array(strip.length + rowCount - 1);
  for (let i = 0; i < ids.length; i++) ids[i] = symbolId(strip[i % strip.length] ?? "");
  return ids;
});

/**
 * The result of every possible payline, computed once with `bestOnLine`: the key of a line is
 * its symbol ids read as the digits of a number in base `symbolBase`, reel 1 first (11^5 keys,
 * one byte each); `lineResultNone` marks a line that pays nothing.
 */
const symbolBase = allSymbols.length;
const lineResults = new Uint8Array(symbolBase ** reelCount);
const lineResultNone = 255;

/** Scratch space; evaluation is synchronous, so one buffer of each kind serves every call. */
const cells = new Uint8Array(cellCount);
const lineScratch = new Uint8Array(lineCountMax);

assertLayout();
fillLineResults();

function assertLayout(): void {
  // The pay table has a row of lineCountMax + 1 counts per symbol, results must fit in a byte
  // below lineResultNone, and windowOfCells builds rows of 5 cells.
  if (reelCount > lineCountMax) throw new Error("a payline is longer than the paytable allows");
  if (allSymbols.length * payStride > lineResultNone) throw new Error("too many symbols");
  if (rowCount !== 3 || reelCount !== 5) throw new Error("the evaluator expects a 3x5 window");
}

function fillLineResults(): void {
  // The symbols of line `key`, counted up like the digits of an odometer.
  const digits = new Uint8Array(reelCount);
  for (let key = 0; key < lineResults.length; key++) {
    const result = bestOnLine(digits, reelCount);
    lineResults[key] = result === noWin ? lineResultNone : result;
    for (let reel = reelCount - 1; reel >= 0; reel--) {
      const digit = (digits[reel] ?? 0) + 1;
      digits[reel] = digit % symbolBase;
      if (digit < symbolBase) break;
    }
  }
}

/** The best combination on one line: `pay` is in multiples of the bet per line. */
export interface LinePay {
  symbol: LineSymbol;
  count: number;
  pay: number;
}

/**
 * Pays the symbols of one line, read left to right from reel 1.
 *
 * - A combination is a run from reel 1 of one symbol, where WILD stands in for any line symbol.
 * - A line that starts with wilds can pay two ways: the wilds on their own (WILD x the number of
 *   leading wilds), or as the first other symbol with the wilds standing in for it. It pays the
 *   higher of the two; on a tie it pays as wilds (same amount either way).
 * - SCATTER is not a line symbol: it ends a run and a line starting with it pays nothing.
 * - Only the highest combination of a line pays.
 *
 * Returns undefined when the line pays nothing. The exact math (math.ts, distribution.ts) calls
 * this function, and it pays lines with `bestOnLine`, the same code that pays every spin, so the
 * published RTP is the RTP of that code.
 */
export function evaluateLine(symbols: readonly SlotSymbol[]): LinePay | undefined {
  if (symbols.length > lineCountMax) {
    throw new Error(`a line has at most ${lineCountMax} symbols, got ${symbols.length}`);
  }
  for (let i = 0; i < symbols.length; i++) lineScratch[i] = symbolId(symbols[i] ?? "");
  const result = bestOnLine(lineScratch, symbols.length);
  if (result === noWin) return undefined;
  return { symbol: lineSymbolOf(result), count: result % payStride, pay: payOf(result) };
}

/**
 * `evaluateLine` on the first `length` symbol ids of `ids`: the best combination as an index into
 * `linePayTable`, or `noWin`. The one implementation of the line rules.
 */
function bestOnLine(ids: Uint8Array, length: number): number {
  let wildRun = 0;
  while (wildRun < length && ids[wildRun] === wildId) wildRun++;
  const wildResult = wildId * payStride + wildRun;
  const wildPay = payOf(wildResult);
  let best = wildPay > 0 ? wildResult : noWin;
  if (wildRun < length) {
    const target = ids[wildRun] ?? scatterId;
    if (target !== scatterId) {
      let count = wildRun + 1;
      while (count < length) {
        const id = ids[count];
        if (id !== target && id !== wildId) break;
        count++;
      }
      const result = target * payStride + count;
      if (payOf(result) > wildPay) best = result;
    }
  }
  return best;
}

function payOf(result: number): number {
  return linePayTable[result] ?? 0;
}

function lineSymbolOf(result: number): LineSymbol {
  const symbol = lineSymbols[Math.floor(result / payStride)];
  if (symbol === undefined) throw new Error(`no line symbol for result ${result}`);
  return symbol;
}

/** Line and scatter wins of the window in `cells`, in minor units (`lineBet` = betPerLine). */
function winsOf(totalBet: number, lineBet: number): Pick<SlotOutcome, "lines" | "scatter" | "win"> {
  const lines: LineWin[] = [];
  let win = 0;
  for (let line = 0; line < paylineCount; line++) {
    // The line's key in lineResults, from the ids of the cells it crosses.
    const base = line * reelCount;
    let key = 0;
    for (let reel = 0; reel < reelCount; reel++) {
      key = key * symbolBase + (cells[lineCells[base + reel] ?? 0] ?? 0);
    }
    const result = lineResults[key] ?? lineResultNone;
    if (result === lineResultNone) continue;
    const lineWin = payOf(result) * lineBet;
    lines.push({
      line: line + 1,
      symbol: lineSymbolOf(result),
      count: result % payStride,
      win: lineWin,
    });
    win += lineWin;
  }

  let scatterCount = 0;
  for (let cell = 0; cell < cellCount; cell++) if (cells[cell] === scatterId) scatterCount++;
  const scatterWin = scatterPayFor(scatterCount) * totalBet;
  win += scatterWin;
  if (!Number.isSafeInteger(win)) throw new Error(`slot win is not a safe integer: ${win}`);
  return { lines, scatter: { count: scatterCount, win: scatterWin }, win };
}

/** Line and scatter wins of a window, in minor units, for a total bet. */
export function evaluateWindow(
  window: readonly (readonly SlotSymbol[])[],
  totalBet: number,
): Pick<SlotOutcome, "lines" | "scatter" | "win"> {
  const lineBet = betPerLine(totalBet);
  assertWindowShape(window);
  for (let row = 0; row < rowCount; row++) {
    const symbols = window[row] ?? [];
    for (let reel = 0; reel < reelCount; reel++) {
      cells[row * reelCount + reel] = symbolId(symbols[reel] ?? "");
    }
  }
  return winsOf(totalBet, lineBet);
}

/**
 * The full outcome of the given reel stops for a total bet. Deterministic: replaying a stored
 * round's stops and bet must reproduce its stored outcome.
 */
export function evaluateStops(stops: readonly number[], totalBet: number): SlotOutcome {
  if (stops.length !== reelCount) throw new Error(`expected ${reelCount} reel stops`);
  for (let reel = 0; reel < reelCount; reel++) {
    const stop = stops[reel] ?? -1;
    const length = stripLengths[reel] ?? 0;
    if (!Number.isInteger(stop) || stop < 0 || stop >= length) {
      throw new Error(`reel stop ${stop} outside 0..${length - 1}`);
    }
    const ids = stripIds[reel];
    for (let row = 0; row < rowCount; row++) cells[row * reelCount + reel] = ids?.[stop + row] ?? 0;
  }
  const wins = winsOf(totalBet, betPerLine(totalBet));
  return {
    stops: stops.slice(),
    window: windowOfCells(),
    lines: wins.lines,
    scatter: wins.scatter,
    win: wins.win,
    paytableVersion,
  };
}

/** The window in `cells` as symbol names: rows top to bottom, each listing reels 1 to 5. */
function windowOfCells(): string[][] {
  return [rowOfCells(0), rowOfCells(reelCount), rowOfCells(2 * reelCount)];
}

/** One row of `windowOfCells`, from its first cell; a literal, the cheapest array to build. */
function rowOfCells(from: number): string[] {
  return [
    nameOfCell(from),
    nameOfCell(from + 1),
    nameOfCell(from + 2),
    nameOfCell(from + 3),
    nameOfCell(from + 4),
  ];
}

function nameOfCell(cell: number): string {
  return allSymbols[cells[cell] ?? 0] ?? "";
}

function assertWindowShape(window: readonly (readonly SlotSymbol[])[]): void {
  if (window.length !== rowCount || window.some((row) => row.length !== reelCount)) {
    throw new Error(`slot window must be ${rowCount} rows of ${reelCount} symbols`);
  }
}
