/**
 * The symbols on the reels. The names are what a round record and a client show.
 *
 * WILD substitutes for every line symbol and also pays on its own. SCATTER never takes part in
 * a line: it pays by how many appear anywhere in the window.
 */
export const WILD = "WILD";
export const SCATTER = "SCATTER";

/** Symbols that pay on paylines, highest paying first (WILD included: it pays on its own). */
export const lineSymbols = [
  WILD,
  "SEVEN",
  "BAR",
  "BELL",
  "MELON",
  "GRAPES",
  "PLUM",
  "ORANGE",
  "LEMON",
  "CHERRY",
] as const;

export type LineSymbol = (typeof lineSymbols)[number];
export type SlotSymbol = LineSymbol | typeof SCATTER;

export const allSymbols: readonly SlotSymbol[] = [...lineSymbols, SCATTER];

const idBySymbol: ReadonlyMap<string, number> = new Map(
  allSymbols.map((symbol, id) => [symbol, id]),
);

/**
 * A symbol's numeric id, its index in `allSymbols`: line symbols come first, so a line symbol's
 * id is also its index in `lineSymbols`. The evaluator works on ids rather than names.
 */
export function symbolId(symbol: string): number {
  const id = idBySymbol.get(symbol);
  if (id === undefined) throw new Error(`unknown slot symbol: ${symbol}`);
  return id;
}

export function isLineSymbol(symbol: SlotSymbol): symbol is LineSymbol {
  return symbol !== SCATTER;
}
