/**
 * The slot game as the rest of the server sees it: validate the bet, draw one uniform stop per
 * reel, evaluate. Pure apart from the random source it is given.
 */
import type { RandomSource } from "../rng.ts";
import { betPerLine } from "./bet.ts";
import { evaluateStops } from "./evaluate.ts";
import type { SlotOutcome } from "./outcome.ts";
import { paylineCount } from "./paylines.ts";
import { paytableVersion } from "./paytable.ts";
import { reelStrips } from "./reels.ts";

export { evaluateStops } from "./evaluate.ts";
export type { LineWin, SlotOutcome } from "./outcome.ts";

const stripLengths: readonly number[] = reelStrips.map((strip) => strip.length);

export interface SlotGame {
  readonly id: "slot";
  /** Lines played on every spin; the total bet must be a multiple of it (the bet step). */
  readonly paylineCount: number;
  readonly paytableVersion: string;
  /** One spin for `totalBet` minor units. Throws if the bet is not a valid slot bet. */
  play(totalBet: number, random: RandomSource): SlotOutcome;
}

export const slotGame: SlotGame = {
  id: "slot",
  paylineCount,
  paytableVersion,
  play(totalBet, random) {
    betPerLine(totalBet);
    const stops: number[] = [];
    for (const length of stripLengths) {
      const stop = random(length);
      if (!Number.isInteger(stop) || stop < 0 || stop >= length) {
        throw new Error(`random source returned ${stop} for a reel of ${length} stops`);
      }
      stops.push(stop);
    }
    return evaluateStops(stops, totalBet);
  },
};
