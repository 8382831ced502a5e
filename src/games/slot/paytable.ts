import { type LineSymbol, lineSymbols } from "./symbols.ts";

/**
 * Identifies the game's math (paytable, reel strips and paylines together) and is stored with
 * every round, so a round can be re-verified against the math it was played with. Any change to
 * the math needs a new version; `fingerprint.test.ts` fails until it gets one.
 */
export const paytableVersion = "slot-v1";

/** The fewest of a kind that can pay on a line, and the most (one per reel). */
export const lineCountMin = 3;
export const lineCountMax = 5;

/**
 * Line pays in multiples of the bet per line, for 3, 4 and 5 of a kind from reel 1.
 * Every symbol pays for 3: the exact math relies on it (a line that fails to match on the
 * first three reels can then never pay, whatever reels 4 and 5 show).
 */
export const linePays: Readonly<Record<LineSymbol, readonly [number, number, number]>> = {
  WILD: [50, 250, 1000],
  SEVEN: [40, 150, 750],
  BAR: [30, 100, 400],
  BELL: [20, 75, 250],
  MELON: [15, 50, 150],
  GRAPES: [15, 40, 125],
  PLUM: [10, 25, 100],
  ORANGE: [10, 25, 100],
  LEMON: [5, 20, 75],
  CHERRY: [5, 20, 75],
};

/** Scatter pays in multiples of the total bet, by the number of scatters in the window (0..5). */
export const scatterPays: readonly number[] = [0, 0, 0, 5, 25, 100];

/**
 * The most a spin can win, in multiples of its total bet, from the paytable alone: every payline
 * at the top line pay (a line's bet is the total bet over the lines) plus the top scatter pay.
 * The reels allow less (docs/PAR-slot.md); this bound holds whatever they are.
 */
export const winPerTotalBetMax =
  Math.max(...Object.values(linePays).flat()) + Math.max(...scatterPays);

/** The pay, in multiples of the bet per line, for `count` of `symbol` from reel 1. */
export function linePayFor(symbol: LineSymbol, count: number): number {
  if (!Number.isInteger(count) || count < 0 || count > lineCountMax) {
    throw new Error(`line count out of range: ${count}`);
  }
  if (count < lineCountMin) return 0;
  const pay = linePays[symbol][count - lineCountMin];
  if (pay === undefined) throw new Error(`no pay for ${count} x ${symbol}`);
  return pay;
}

/** The pay, in multiples of the total bet, for `count` scatters anywhere in the window. */
export function scatterPayFor(count: number): number {
  const pay = scatterPays[count];
  if (pay === undefined || !Number.isInteger(count)) {
    throw new Error(`scatter count out of range: ${count}`);
  }
  return pay;
}

assertPaytable();

function assertPaytable(): void {
  for (const symbol of lineSymbols) {
    const pays = linePays[symbol];
    for (let i = 0; i < pays.length; i++) {
      const pay = pays[i] ?? 0;
      const previous = pays[i - 1] ?? 0;
      if (!Number.isSafeInteger(pay) || pay <= 0 || pay < previous) {
        throw new Error(`${symbol} pays must be positive integers rising with the count`);
      }
    }
  }
  for (const pay of scatterPays) {
    if (!Number.isSafeInteger(pay) || pay < 0) throw new Error("scatter pays must be integers");
  }
}
