/**
 * Exact joint statistics of the total win (hit frequency, variance, maximum) by enumerating
 * stop combinations, which the per-reel counting in math.ts cannot give.
 *
 * Visiting all combinations one by one is too slow, so the enumeration uses one property of
 * the paytable (asserted below): every line symbol pays for 3 of a kind. A payline whose first
 * three cells do not pay can therefore never pay, whatever reels 4 and 5 show. For each stop
 * combination of reels 1 to 3:
 *   - if no line pays on the first three reels, the win is the scatter win alone, which depends
 *     on reels 4 and 5 only through their scatter count: those suffixes are grouped by count;
 *   - otherwise every suffix (reel 4 and 5 stops) is visited and the live lines are paid in full
 *     with `evaluateLine`, the function the game uses.
 * The suffixes can be restricted, which lets a test compare a complete sub-space with
 * `evaluateStops` combination by combination.
 */
import { evaluateLine } from "./evaluate.ts";
import { paylineCount, paylines, reelCount } from "./paylines.ts";
import { lineCountMin, linePayFor, scatterPayFor } from "./paytable.ts";
import { columnAt, reelStrips, type Strip, scattersAt } from "./reels.ts";
import { lineSymbols, type SlotSymbol } from "./symbols.ts";

/** Stops of reels 4 and 5. */
export type Suffix = readonly [number, number];

/** Statistics over a set of stop combinations; wins are in multiples of the bet per line. */
export interface WinDistribution {
  combinations: bigint;
  lineWinSum: bigint;
  scatterWinSum: bigint;
  /** Sum of the squared total win, for the variance. */
  winSquareSum: bigint;
  /** Combinations with a total win above zero. */
  hitCombinations: bigint;
  maxWin: number;
  maxWinStops: number[];
}

export function allSuffixes(strips: readonly Strip[] = reelStrips): Suffix[] {
  const suffixes: Suffix[] = [];
  const [reel4, reel5] = [strips[3] ?? [], strips[4] ?? []];
  for (let stop4 = 0; stop4 < reel4.length; stop4++) {
    for (let stop5 = 0; stop5 < reel5.length; stop5++) suffixes.push([stop4, stop5]);
  }
  return suffixes;
}

/** Enumerates every stop of reels 1 to 3 combined with each of `suffixes`. */
export function enumerateWins(
  suffixes: readonly Suffix[] = allSuffixes(),
  strips: readonly Strip[] = reelStrips,
): WinDistribution {
  assertEveryLineSymbolPaysThree();
  if (strips.length !== reelCount) throw new Error(`expected ${reelCount} strips`);
  const columns = strips.map((strip) => strip.map((_, stop) => columnAt(strip, stop)));
  const scatters = strips.map((strip) => strip.map((_, stop) => scattersAt(strip, stop)));
  const suffixScatters = suffixes.map(
    ([stop4, stop5]) => at(scatters[3], stop4) + at(scatters[4], stop5),
  );
  const table: SuffixTable = {
    suffixes,
    scatters: suffixScatters,
    byScatters: countBy(suffixScatters),
  };
  const total = emptyDistribution();
  const [reel1, reel2, reel3] = [columns[0] ?? [], columns[1] ?? [], columns[2] ?? []];

  for (let stop1 = 0; stop1 < reel1.length; stop1++) {
    for (let stop2 = 0; stop2 < reel2.length; stop2++) {
      for (let stop3 = 0; stop3 < reel3.length; stop3++) {
        const prefix: Prefix = {
          stops: [stop1, stop2, stop3],
          scatters: at(scatters[0], stop1) + at(scatters[1], stop2) + at(scatters[2], stop3),
        };
        const liveLines = linesPayingOnThree([
          at(reel1, stop1),
          at(reel2, stop2),
          at(reel3, stop3),
        ]);
        if (liveLines.length === 0) addScatterOnly(total, prefix, table);
        else addEachSuffix(total, prefix, liveLines, table, columns);
      }
    }
  }
  total.combinations = BigInt(reel1.length * reel2.length * reel3.length) * BigInt(suffixes.length);
  return total;
}

/** Stops of reels 1 to 3 and the scatters they show. */
interface Prefix {
  stops: readonly number[];
  scatters: number;
}

/** The suffixes to combine with every prefix, their scatter counts, and how many show each count. */
interface SuffixTable {
  suffixes: readonly Suffix[];
  scatters: readonly number[];
  byScatters: ReadonlyMap<number, number>;
}

/** A line still in play after reel 3: its row on reels 4 and 5 and its first three symbols. */
interface LiveLine {
  rows: readonly number[];
  symbols: SlotSymbol[];
}

function linesPayingOnThree(prefix: readonly (readonly SlotSymbol[])[]): LiveLine[] {
  const live: LiveLine[] = [];
  for (const rows of paylines) {
    const symbols = [0, 1, 2].map((reel) => at(prefix[reel], at(rows, reel)));
    // Reels 4 and 5 are filled in per suffix.
    if (evaluateLine(symbols) !== undefined) live.push({ rows, symbols });
  }
  return live;
}

function addScatterOnly(total: WinDistribution, prefix: Prefix, table: SuffixTable): void {
  for (const [count, suffixCount] of table.byScatters) {
    const win = scatterPayFor(prefix.scatters + count) * paylineCount;
    const weight = BigInt(suffixCount);
    total.scatterWinSum += weight * BigInt(win);
    total.winSquareSum += weight * BigInt(win) * BigInt(win);
    if (win > 0) total.hitCombinations += weight;
    if (win > total.maxWin) {
      total.maxWin = win;
      total.maxWinStops = [...prefix.stops, ...at(table.suffixes, table.scatters.indexOf(count))];
    }
  }
}

function addEachSuffix(
  total: WinDistribution,
  prefix: Prefix,
  liveLines: readonly LiveLine[],
  table: SuffixTable,
  columns: readonly (readonly (readonly SlotSymbol[])[])[],
): void {
  // Sums over the suffixes of one prefix stay far below 2^53, so plain numbers are exact here.
  let lineWinSum = 0;
  let scatterWinSum = 0;
  let winSquareSum = 0;
  let hits = 0;
  table.suffixes.forEach(([stop4, stop5], index) => {
    const column4 = at(columns[3], stop4);
    const column5 = at(columns[4], stop5);
    let lineWin = 0;
    for (const line of liveLines) {
      line.symbols[3] = at(column4, at(line.rows, 3));
      line.symbols[4] = at(column5, at(line.rows, 4));
      lineWin += evaluateLine(line.symbols)?.pay ?? 0;
    }
    const scatterWin = scatterPayFor(prefix.scatters + at(table.scatters, index)) * paylineCount;
    const win = lineWin + scatterWin;
    lineWinSum += lineWin;
    scatterWinSum += scatterWin;
    winSquareSum += win * win;
    if (win > 0) hits++;
    if (win > total.maxWin) {
      total.maxWin = win;
      total.maxWinStops = [...prefix.stops, stop4, stop5];
    }
  });
  if (!Number.isSafeInteger(winSquareSum)) throw new Error("win square sum lost precision");
  total.lineWinSum += BigInt(lineWinSum);
  total.scatterWinSum += BigInt(scatterWinSum);
  total.winSquareSum += BigInt(winSquareSum);
  total.hitCombinations += BigInt(hits);
}

function assertEveryLineSymbolPaysThree(): void {
  for (const symbol of lineSymbols) {
    if (linePayFor(symbol, lineCountMin) <= 0) {
      throw new Error(`${symbol} must pay for ${lineCountMin}: the enumeration skips dead lines`);
    }
  }
}

function emptyDistribution(): WinDistribution {
  return {
    combinations: 0n,
    lineWinSum: 0n,
    scatterWinSum: 0n,
    winSquareSum: 0n,
    hitCombinations: 0n,
    maxWin: 0,
    maxWinStops: [],
  };
}

function countBy(values: readonly number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

function at<T>(items: readonly T[] | undefined, index: number): T {
  const item = items?.[index];
  if (item === undefined) throw new Error(`index ${index} out of range`);
  return item;
}
