/**
 * The figures a PAR sheet and the tests report, derived exactly from the counting (math.ts) and
 * the enumeration (distribution.ts). Both must agree on the RTP; `slotStatistics` refuses to
 * report anything when they do not.
 */
import { enumerateWins, type WinDistribution } from "./distribution.ts";
import { countWins, returnToPlayer, type WinCount } from "./math.ts";
import { paylineCount } from "./paylines.ts";
import { equalRatio, type Ratio, ratio } from "./rational.ts";

export interface SlotStatistics {
  count: WinCount;
  distribution: WinDistribution;
  rtp: { total: Ratio; lines: Ratio; scatter: Ratio };
  hitFrequency: Ratio;
  /** Variance of the win per unit of total bet. */
  variance: Ratio;
  /** The largest win of any stop combination, in multiples of the total bet. */
  maxWin: Ratio;
}

export function slotStatistics(): SlotStatistics {
  const count = countWins();
  const distribution = enumerateWins();
  const rtp = returnToPlayer(count);
  const enumerated = returnToPlayer(distribution);
  if (
    count.combinations !== distribution.combinations ||
    !equalRatio(rtp.lines, enumerated.lines) ||
    !equalRatio(rtp.scatter, enumerated.scatter)
  ) {
    throw new Error("counted and enumerated RTP disagree");
  }
  return {
    count,
    distribution,
    rtp,
    hitFrequency: ratio(distribution.hitCombinations, distribution.combinations),
    variance: varianceOf(distribution),
    maxWin: ratio(BigInt(distribution.maxWin), BigInt(paylineCount)),
  };
}

/** Var(W / lines) = (N * sum(W^2) - sum(W)^2) / (N^2 * lines^2), W in line-bet units. */
export function varianceOf(distribution: WinDistribution): Ratio {
  const n = distribution.combinations;
  const sum = distribution.lineWinSum + distribution.scatterWinSum;
  const lines = BigInt(paylineCount);
  return ratio(n * distribution.winSquareSum - sum * sum, n * n * lines * lines);
}
