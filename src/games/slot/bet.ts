import { paylineCount } from "./paylines.ts";

/**
 * The bet per line for a total bet. The total bet must be a positive safe integer multiple of
 * the payline count, so every line gets the same whole number of minor units. Callers validate
 * bets against the game's limits first; failing here is a programming error.
 */
export function betPerLine(totalBet: number): number {
  if (!Number.isSafeInteger(totalBet) || totalBet <= 0 || totalBet % paylineCount !== 0) {
    throw new Error(
      `slot total bet must be a positive safe integer multiple of ${paylineCount}, got ${totalBet}`,
    );
  }
  return totalBet / paylineCount;
}
