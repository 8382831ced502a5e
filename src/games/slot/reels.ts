import { reelCount, rowCount } from "./paylines.ts";
import { SCATTER, type SlotSymbol } from "./symbols.ts";

export type Strip = readonly SlotSymbol[];

/** The fewest stops a strip may have. */
export const stripLengthMin = 30;

/**
 * The reel strips, read top to bottom; a reel wraps from its last stop to its first. Wilds are
 * scarcest on reels 1 and 5. Low symbols come in stacks of up to three, so wins cluster: one
 * stack pays several lines at once, which keeps the hit frequency moderate for the RTP.
 * Changing a strip changes the math: regenerate docs/PAR-slot.md and bump `paytableVersion`.
 */
// biome-ignore format: six stops per line, each line starting with its stop index
export const reelStrips: readonly Strip[] = [
  // Reel 1: 36 stops.
  [
    /*  0 */ "WILD", "ORANGE", "BAR", "CHERRY", "CHERRY", "CHERRY",
    /*  6 */ "GRAPES", "GRAPES", "GRAPES", "PLUM", "CHERRY", "BAR",
    /* 12 */ "SEVEN", "LEMON", "LEMON", "LEMON", "GRAPES", "SCATTER",
    /* 18 */ "PLUM", "PLUM", "PLUM", "CHERRY", "CHERRY", "CHERRY",
    /* 24 */ "ORANGE", "ORANGE", "ORANGE", "MELON", "MELON", "MELON",
    /* 30 */ "BELL", "BELL", "BELL", "SEVEN", "LEMON", "LEMON",
  ],
  // Reel 2: 37 stops.
  [
    /*  0 */ "BAR", "CHERRY", "CHERRY", "CHERRY", "MELON", "MELON",
    /*  6 */ "MELON", "PLUM", "PLUM", "PLUM", "SEVEN", "LEMON",
    /* 12 */ "LEMON", "ORANGE", "WILD", "SCATTER", "BELL", "BELL",
    /* 18 */ "BELL", "BAR", "WILD", "PLUM", "ORANGE", "ORANGE",
    /* 24 */ "ORANGE", "CHERRY", "CHERRY", "LEMON", "LEMON", "LEMON",
    /* 30 */ "GRAPES", "GRAPES", "GRAPES", "SEVEN", "WILD", "GRAPES",
    /* 36 */ "SCATTER",
  ],
  // Reel 3: 38 stops.
  [
    /*  0 */ "BAR", "WILD", "ORANGE", "SEVEN", "MELON", "MELON",
    /*  6 */ "MELON", "SCATTER", "GRAPES", "SEVEN", "SCATTER", "CHERRY",
    /* 12 */ "CHERRY", "CHERRY", "WILD", "BAR", "ORANGE", "ORANGE",
    /* 18 */ "ORANGE", "BELL", "BELL", "BELL", "PLUM", "PLUM",
    /* 24 */ "PLUM", "GRAPES", "GRAPES", "GRAPES", "LEMON", "LEMON",
    /* 30 */ "PLUM", "WILD", "CHERRY", "CHERRY", "LEMON", "LEMON",
    /* 36 */ "LEMON", "WILD",
  ],
  // Reel 4: 37 stops.
  [
    /*  0 */ "BAR", "PLUM", "ORANGE", "SEVEN", "BAR", "LEMON",
    /*  6 */ "LEMON", "GRAPES", "CHERRY", "CHERRY", "CHERRY", "BELL",
    /* 12 */ "BELL", "BELL", "CHERRY", "CHERRY", "MELON", "MELON",
    /* 18 */ "MELON", "PLUM", "PLUM", "PLUM", "GRAPES", "GRAPES",
    /* 24 */ "GRAPES", "SEVEN", "WILD", "LEMON", "LEMON", "LEMON",
    /* 30 */ "SCATTER", "WILD", "ORANGE", "ORANGE", "ORANGE", "WILD",
    /* 36 */ "SCATTER",
  ],
  // Reel 5: 35 stops.
  [
    /*  0 */ "GRAPES", "GRAPES", "GRAPES", "WILD", "ORANGE", "ORANGE",
    /*  6 */ "ORANGE", "BELL", "BELL", "BELL", "SCATTER", "ORANGE",
    /* 12 */ "PLUM", "PLUM", "PLUM", "MELON", "MELON", "MELON",
    /* 18 */ "SEVEN", "CHERRY", "CHERRY", "CHERRY", "WILD", "BAR",
    /* 24 */ "LEMON", "LEMON", "LEMON", "SEVEN", "PLUM", "CHERRY",
    /* 30 */ "CHERRY", "LEMON", "LEMON", "GRAPES", "BAR",
  ],
];

/** The 3 symbols a reel shows when stopped at `stop`: the stop on top, then the next two. */
export function columnAt(strip: Strip, stop: number): SlotSymbol[] {
  if (!Number.isInteger(stop) || stop < 0 || stop >= strip.length) {
    throw new Error(`reel stop ${stop} outside 0..${strip.length - 1}`);
  }
  const column: SlotSymbol[] = [];
  for (let row = 0; row < rowCount; row++) {
    const symbol = strip[(stop + row) % strip.length];
    if (symbol === undefined) throw new Error("strip index out of range");
    column.push(symbol);
  }
  return column;
}

/** The window for the given stops: rows top to bottom, each listing reels 1 to 5. */
export function windowAt(
  stops: readonly number[],
  strips: readonly Strip[] = reelStrips,
): SlotSymbol[][] {
  if (stops.length !== strips.length) throw new Error(`expected ${strips.length} reel stops`);
  const columns = strips.map((strip, reel) => columnAt(strip, stops[reel] ?? -1));
  return Array.from({ length: rowCount }, (_, row) =>
    columns.map((column) => column[row] as SlotSymbol),
  );
}

/** The number of scatters a reel shows at each stop. */
export function scattersAt(strip: Strip, stop: number): number {
  return columnAt(strip, stop).filter((symbol) => symbol === SCATTER).length;
}

assertStrips(reelStrips);

export function assertStrips(strips: readonly Strip[]): void {
  if (strips.length !== reelCount) throw new Error(`expected ${reelCount} reel strips`);
  for (const strip of strips) {
    if (strip.length < stripLengthMin)
      throw new Error(`a strip needs ${stripLengthMin} stops or more`);
    // At most one scatter per reel window keeps the scatter count within 0..5, the range the
    // scatter paytable covers.
    for (let stop = 0; stop < strip.length; stop++) {
      if (scattersAt(strip, stop) > 1) throw new Error(`two scatters within ${rowCount} stops`);
    }
  }
}
