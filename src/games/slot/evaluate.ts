import { betPerLine } from "./bet.ts";
import type { LineWin, SlotOutcome } from "./outcome.ts";
import { paylines, reelCount, rowCount } from "./paylines.ts";
import { linePayFor, paytableVersion, scatterPayFor } from "./paytable.ts";
import { windowAt } from "./reels.ts";
import { isLineSymbol, type LineSymbol, SCATTER, type SlotSymbol, WILD } from "./symbols.ts";

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
 * this same function, so the published RTP is the RTP of this code.
 */
export function evaluateLine(symbols: readonly SlotSymbol[]): LinePay | undefined {
  let wildRun = 0;
  while (wildRun < symbols.length && symbols[wildRun] === WILD) wildRun++;
  const wildPay = linePayFor(WILD, wildRun);
  let best: LinePay | undefined =
    wildPay > 0 ? { symbol: WILD, count: wildRun, pay: wildPay } : undefined;

  const target = symbols[wildRun];
  if (target !== undefined && isLineSymbol(target)) {
    let count = wildRun + 1;
    while (count < symbols.length && (symbols[count] === target || symbols[count] === WILD)) {
      count++;
    }
    const pay = linePayFor(target, count);
    if (pay > (best?.pay ?? 0)) best = { symbol: target, count, pay };
  }
  return best;
}

/** Line and scatter wins of a window, in minor units, for a total bet. */
export function evaluateWindow(
  window: readonly (readonly SlotSymbol[])[],
  totalBet: number,
): Pick<SlotOutcome, "lines" | "scatter" | "win"> {
  const lineBet = betPerLine(totalBet);
  assertWindowShape(window);
  const lines: LineWin[] = [];
  let win = 0;
  paylines.forEach((rows, index) => {
    const symbols = rows.map((row, reel) => cell(window, row, reel));
    const best = evaluateLine(symbols);
    if (best === undefined) return;
    const lineWin = best.pay * lineBet;
    lines.push({ line: index + 1, symbol: best.symbol, count: best.count, win: lineWin });
    win += lineWin;
  });

  const scatterCount = window.flat().filter((symbol) => symbol === SCATTER).length;
  const scatterWin = scatterPayFor(scatterCount) * totalBet;
  win += scatterWin;
  if (!Number.isSafeInteger(win)) throw new Error(`slot win is not a safe integer: ${win}`);
  return { lines, scatter: { count: scatterCount, win: scatterWin }, win };
}

/**
 * The full outcome of the given reel stops for a total bet. Deterministic: replaying a stored
 * round's stops and bet must reproduce its stored outcome.
 */
export function evaluateStops(stops: readonly number[], totalBet: number): SlotOutcome {
  const window = windowAt(stops);
  const wins = evaluateWindow(window, totalBet);
  return {
    stops: [...stops],
    window: window.map((row) => [...row]),
    ...wins,
    paytableVersion,
  };
}

function cell(window: readonly (readonly SlotSymbol[])[], row: number, reel: number): SlotSymbol {
  const symbol = window[row]?.[reel];
  if (symbol === undefined) throw new Error(`window has no cell at row ${row}, reel ${reel}`);
  return symbol;
}

function assertWindowShape(window: readonly (readonly SlotSymbol[])[]): void {
  if (window.length !== rowCount || window.some((row) => row.length !== reelCount)) {
    throw new Error(`slot window must be ${rowCount} rows of ${reelCount} symbols`);
  }
}
