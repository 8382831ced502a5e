/** One spin as played, shown and stored. All amounts are integer minor units. */
export interface SlotOutcome {
  /** Stop index of each of the 5 reels: the strip position shown on the top row. */
  stops: number[];
  /** The window as shown: 3 rows (top to bottom) of 5 symbols (reel 1 to 5). */
  window: string[][];
  /** Winning paylines only; `line` is the 1-based payline number, `count` the symbols matched. */
  lines: LineWin[];
  /** Scatters anywhere in the window and what they pay (count is reported even when 0). */
  scatter: { count: number; win: number };
  /** Total win: the sum of line and scatter wins. The stake is not included. */
  win: number;
  paytableVersion: string;
}

export interface LineWin {
  line: number;
  symbol: string;
  count: number;
  win: number;
}
