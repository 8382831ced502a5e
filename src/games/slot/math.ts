/**
 * Exact expected wins by counting, without visiting every stop combination.
 *
 * The reels stop independently and uniformly, and a payline shows exactly one cell per reel.
 * So over any product of per-reel stop sets, the number of combinations in which a line shows
 * the symbols (s1..s5) is the product over reels of how many stops put s_r on that line's row
 * of reel r. Summing that product times the line's pay over all symbol 5-tuples gives the line's
 * total win over the whole space. The scatter count is a sum of independent per-reel counts,
 * so its distribution is the convolution of the per-reel distributions.
 *
 * Lines are paid by `evaluateLine`, the function the game itself uses.
 */
import { evaluateLine } from "./evaluate.ts";
import { paylineCount, paylines } from "./paylines.ts";
import { scatterPayFor } from "./paytable.ts";
import { type Ratio, ratio } from "./rational.ts";
import { reelStrips, type Strip, scattersAt } from "./reels.ts";
import type { SlotSymbol } from "./symbols.ts";

/** How many of the considered stops put each symbol in one row of one reel (no zero entries). */
export type SymbolWeights = ReadonlyMap<SlotSymbol, bigint>;

/** Total wins over a set of stop combinations, in multiples of the bet per line. */
export interface WinCount {
  combinations: bigint;
  lineWinSum: bigint;
  scatterWinSum: bigint;
  /** Line wins by combination, keyed "SYMBOL:count", summed over all paylines. */
  lineWinSumByCombination: ReadonlyMap<string, bigint>;
  /** Number of combinations showing each scatter count (index = count). */
  scatterCountCombinations: readonly bigint[];
}

/** Every stop of every reel: the whole game. */
export function allStops(strips: readonly Strip[] = reelStrips): number[][] {
  return strips.map((strip) => strip.map((_, stop) => stop));
}

/** Counts wins over the product of `stopSets` (one set of stops per reel). */
export function countWins(
  stopSets: readonly (readonly number[])[] = allStops(),
  strips: readonly Strip[] = reelStrips,
): WinCount {
  if (stopSets.length !== strips.length) throw new Error("one stop set per reel");
  const combinations = stopSets.reduce((product, stops) => product * BigInt(stops.length), 1n);

  const byCombination = new Map<string, bigint>();
  const cache = new Map<string, Map<string, bigint>>();
  for (const rows of paylines) {
    const weights = rows.map((row, reel) =>
      rowWeights(strips[reel] ?? [], row, stopSets[reel] ?? []),
    );
    const key = weights.map(weightsKey).join("|");
    let sums = cache.get(key);
    if (sums === undefined) {
      sums = weightedLinePays(weights);
      cache.set(key, sums);
    }
    for (const [combination, sum] of sums) {
      byCombination.set(combination, (byCombination.get(combination) ?? 0n) + sum);
    }
  }
  const lineWinSum = [...byCombination.values()].reduce((total, sum) => total + sum, 0n);

  const scatterCounts = strips
    .map((strip, reel) => scatterCountWeights(strip, stopSets[reel] ?? []))
    .reduce(convolve, [1n]);
  const scatterWinSum = scatterCounts.reduce(
    (total, weight, count) => total + weight * BigInt(scatterPayFor(count) * paylineCount),
    0n,
  );
  return {
    combinations,
    lineWinSum,
    scatterWinSum,
    lineWinSumByCombination: byCombination,
    scatterCountCombinations: scatterCounts,
  };
}

/** Win sums over a set of stop combinations, from counting or from enumeration. */
export type WinSums = Pick<WinCount, "combinations" | "lineWinSum" | "scatterWinSum">;

/** Expected win per unit of total bet (the RTP), split into lines and scatter. */
export function returnToPlayer(sums: WinSums): { total: Ratio; lines: Ratio; scatter: Ratio } {
  const stake = sums.combinations * BigInt(paylineCount);
  return {
    total: ratio(sums.lineWinSum + sums.scatterWinSum, stake),
    lines: ratio(sums.lineWinSum, stake),
    scatter: ratio(sums.scatterWinSum, stake),
  };
}

/** How many of `stops` put each symbol in `row` of the reel. */
export function rowWeights(strip: Strip, row: number, stops: readonly number[]): SymbolWeights {
  const weights = new Map<SlotSymbol, bigint>();
  for (const stop of stops) {
    const symbol = strip[(stop + row) % strip.length];
    if (symbol === undefined) throw new Error(`stop ${stop} is not on the strip`);
    weights.set(symbol, (weights.get(symbol) ?? 0n) + 1n);
  }
  return weights;
}

/**
 * Sum over every symbol 5-tuple of (product of the per-reel weights) x the line pay, keyed by
 * the combination paid.
 */
export function weightedLinePays(weights: readonly SymbolWeights[]): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  const symbols: SlotSymbol[] = [];
  const visit = (reel: number, product: bigint): void => {
    const reelWeights = weights[reel];
    if (reelWeights === undefined) {
      const best = evaluateLine(symbols);
      if (best === undefined) return;
      const key = `${best.symbol}:${best.count}`;
      sums.set(key, (sums.get(key) ?? 0n) + product * BigInt(best.pay));
      return;
    }
    for (const [symbol, weight] of reelWeights) {
      symbols.push(symbol);
      visit(reel + 1, product * weight);
      symbols.pop();
    }
  };
  visit(0, 1n);
  return sums;
}

/** How many of `stops` show each number of scatters on the reel (index = count). */
export function scatterCountWeights(strip: Strip, stops: readonly number[]): bigint[] {
  const weights: bigint[] = [];
  for (const stop of stops) {
    const count = scattersAt(strip, stop);
    while (weights.length <= count) weights.push(0n);
    weights[count] = (weights[count] ?? 0n) + 1n;
  }
  return weights;
}

/** The distribution of the sum of two independent counts. */
export function convolve(a: readonly bigint[], b: readonly bigint[]): bigint[] {
  const sum: bigint[] = new Array(Math.max(0, a.length + b.length - 1)).fill(0n);
  a.forEach((x, i) => {
    b.forEach((y, j) => {
      sum[i + j] = (sum[i + j] ?? 0n) + x * y;
    });
  });
  return sum;
}

function weightsKey(weights: SymbolWeights): string {
  return [...weights]
    .map(([symbol, weight]) => `${symbol}=${weight}`)
    .sort()
    .join(",");
}
