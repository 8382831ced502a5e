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

export function isLineSymbol(symbol: SlotSymbol): symbol is LineSymbol {
  return symbol !== SCATTER;
}
