import { afterAll, expect, test } from "bun:test";
import { allSuffixes, enumerateWins, type Suffix, type WinDistribution } from "./distribution.ts";
import { evaluateStops, evaluateWindow } from "./evaluate.ts";
import { allStops, countWins, returnToPlayer, type WinSums } from "./math.ts";
import { paylineCount } from "./paylines.ts";
import { linePays, scatterPays } from "./paytable.ts";
import { compareRatio, formatPercent, type Ratio, ratio } from "./rational.ts";
import { reelStrips, type Strip, windowAt } from "./reels.ts";
import { type SlotStatistics, slotStatistics } from "./statistics.ts";

const startedMs = performance.now();
/** For tests that may be first to run a lazily computed 2-3 s check; a slow CI box must not flake. */
const heavyTestTimeoutMs = 60_000;
afterAll(() => {
  console.log(`slot math tests: ${((performance.now() - startedMs) / 1000).toFixed(1)} s`);
});

const percent = (value: number): Ratio => ratio(BigInt(value * 10), 1000n);

/** Totals gathered by calling the game's evaluation on every combination of a stop set. */
type Visited = WinSums & Pick<WinDistribution, "winSquareSum" | "hitCombinations" | "maxWin">;

/**
 * Visits every stop of reels 1 to 3 with each suffix, through `evaluate` (which returns the
 * win for a total bet of one unit per line, so wins are in line-bet units).
 */
function visitAll(
  strips: readonly Strip[],
  suffixes: readonly Suffix[],
  evaluate: (stops: number[]) => { lineWin: number; scatterWin: number },
): Visited {
  const visited: Visited = {
    combinations: 0n,
    lineWinSum: 0n,
    scatterWinSum: 0n,
    winSquareSum: 0n,
    hitCombinations: 0n,
    maxWin: 0,
  };
  const [reel1, reel2, reel3] = strips;
  for (let stop1 = 0; stop1 < (reel1?.length ?? 0); stop1++) {
    for (let stop2 = 0; stop2 < (reel2?.length ?? 0); stop2++) {
      for (let stop3 = 0; stop3 < (reel3?.length ?? 0); stop3++) {
        for (const [stop4, stop5] of suffixes) {
          const { lineWin, scatterWin } = evaluate([stop1, stop2, stop3, stop4, stop5]);
          const win = lineWin + scatterWin;
          visited.combinations++;
          visited.lineWinSum += BigInt(lineWin);
          visited.scatterWinSum += BigInt(scatterWin);
          visited.winSquareSum += BigInt(win * win);
          if (win > 0) visited.hitCombinations++;
          visited.maxWin = Math.max(visited.maxWin, win);
        }
      }
    }
  }
  return visited;
}

/** Adds up the counting method over single (reel 4, reel 5) stop pairs. */
function countOverSuffixes(strips: readonly Strip[], suffixes: readonly Suffix[]): WinSums {
  const [all1, all2, all3] = allStops(strips);
  const sums: WinSums = { combinations: 0n, lineWinSum: 0n, scatterWinSum: 0n };
  for (const [stop4, stop5] of suffixes) {
    const count = countWins([all1 ?? [], all2 ?? [], all3 ?? [], [stop4], [stop5]], strips);
    sums.combinations += count.combinations;
    sums.lineWinSum += count.lineWinSum;
    sums.scatterWinSum += count.scatterWinSum;
  }
  return sums;
}

function sumsOf(visited: WinSums): WinSums {
  const { combinations, lineWinSum, scatterWinSum } = visited;
  return { combinations, lineWinSum, scatterWinSum };
}

test("slot - the exact RTP is between 95.5% and 96.5%", () => {
  const rtp = returnToPlayer(countWins());
  console.log(
    `RTP ${rtp.total.num}/${rtp.total.den} = ${formatPercent(rtp.total, 4)}`,
    `(lines ${formatPercent(rtp.lines, 4)}, scatter ${formatPercent(rtp.scatter, 4)})`,
  );
  expect(compareRatio(rtp.total, percent(95.5))).toBeGreaterThanOrEqual(0);
  expect(compareRatio(rtp.total, percent(96.5))).toBeLessThanOrEqual(0);
});

// One reel 5 stop for every reel 4 stop; 11 is coprime to the reel 5 length, so every reel 5
// stop is used too. Reels 1 to 3 are enumerated in full: about 1.9 million spins.
const subSpace: Suffix[] = (reelStrips[3] ?? []).map(
  (_, stop4): Suffix => [stop4, (stop4 * 11 + 3) % (reelStrips[4]?.length ?? 1)],
);
let subSpaceVisited: Visited | undefined;

/** Every spin of the sub-space through `evaluateStops` itself, computed once. */
function subSpaceThroughGame(): Visited {
  subSpaceVisited ??= visitAll(reelStrips, subSpace, (stops) => {
    const outcome = evaluateStops(stops, paylineCount);
    return { lineWin: outcome.win - outcome.scatter.win, scatterWin: outcome.scatter.win };
  });
  return subSpaceVisited;
}

test("slot - the sub-space used for cross-checks touches every stop of every reel", () => {
  expect(new Set(subSpace.map(([stop4]) => stop4)).size).toBe(reelStrips[3]?.length ?? -1);
  expect(new Set(subSpace.map(([, stop5]) => stop5)).size).toBe(reelStrips[4]?.length ?? -1);
});

test(
  "slot - counting matches evaluateStops on every spin of a complete sub-space",
  () => {
    const visited = subSpaceThroughGame();
    expect(countOverSuffixes(reelStrips, subSpace)).toEqual(sumsOf(visited));
    expect(visited.lineWinSum).toBeGreaterThan(0n);
    expect(visited.scatterWinSum).toBeGreaterThan(0n);
  },
  heavyTestTimeoutMs,
);

test(
  "slot - enumeration matches evaluateStops on every spin of a complete sub-space",
  () => {
    const visited = subSpaceThroughGame();
    const enumerated = enumerateWins(subSpace);
    expect({ ...sumsOf(enumerated), ...pickJoint(enumerated) }).toEqual({
      ...sumsOf(visited),
      ...pickJoint(visited),
    });
  },
  heavyTestTimeoutMs,
);

function pickJoint(value: Visited): Pick<Visited, "winSquareSum" | "hitCombinations" | "maxWin"> {
  return {
    winSquareSum: value.winSquareSum,
    hitCombinations: value.hitCombinations,
    maxWin: value.maxWin,
  };
}

test("slot - counting, enumeration and brute force agree on every spin of small strips", () => {
  // Short dense strips: wilds, scatters and every run length are frequent, and the whole space
  // (6^5 spins) is small enough to visit through evaluateWindow.
  const strips: Strip[] = [
    ["WILD", "CHERRY", "SEVEN", "SCATTER", "CHERRY", "LEMON"],
    ["CHERRY", "WILD", "SCATTER", "SEVEN", "WILD", "CHERRY"],
    ["SEVEN", "CHERRY", "WILD", "SCATTER", "LEMON", "WILD"],
    ["SCATTER", "WILD", "CHERRY", "SCATTER", "SEVEN", "WILD"],
    ["CHERRY", "SCATTER", "WILD", "SEVEN", "SCATTER", "LEMON"],
  ];
  const suffixes = allSuffixes(strips);
  const visited = visitAll(strips, suffixes, (stops) => {
    const result = evaluateWindow(windowAt(stops, strips), paylineCount);
    return { lineWin: result.win - result.scatter.win, scatterWin: result.scatter.win };
  });
  const enumerated = enumerateWins(suffixes, strips);
  expect(sumsOf(countWins(allStops(strips), strips))).toEqual(sumsOf(visited));
  expect({ ...sumsOf(enumerated), ...pickJoint(enumerated) }).toEqual({
    ...sumsOf(visited),
    ...pickJoint(visited),
  });
  expect(visited.scatterWinSum).toBeGreaterThan(0n);
});

let wholeGame: SlotStatistics | undefined;

/** Exact statistics of the whole game (about 2 s), computed once. */
function statistics(): SlotStatistics {
  wholeGame ??= slotStatistics();
  return wholeGame;
}

test(
  "slot - counting and enumeration give the same RTP over the whole game",
  () => {
    expect(sumsOf(statistics().distribution)).toEqual(sumsOf(statistics().count));
  },
  heavyTestTimeoutMs,
);

test(
  "slot - the exact hit frequency is between 20% and 35%",
  () => {
    const { hitFrequency } = statistics();
    console.log(
      `hit frequency ${hitFrequency.num}/${hitFrequency.den} = ${formatPercent(hitFrequency, 4)}`,
    );
    expect(compareRatio(hitFrequency, percent(20))).toBeGreaterThanOrEqual(0);
    expect(compareRatio(hitFrequency, percent(35))).toBeLessThanOrEqual(0);
  },
  heavyTestTimeoutMs,
);

test(
  "slot - the max win is paid by its stops and stays under the paytable's ceiling",
  () => {
    const { maxWin, maxWinStops } = statistics().distribution;
    console.log(`max win ${maxWin / paylineCount} x total bet at stops [${maxWinStops}]`);
    expect(evaluateStops(maxWinStops, paylineCount).win).toBe(maxWin);
    // No spin can pay more than every line paying the top line pay plus the top scatter pay.
    const topLinePay = Math.max(...Object.values(linePays).flat());
    const ceiling = paylineCount * topLinePay + paylineCount * Math.max(...scatterPays);
    expect(maxWin).toBeLessThanOrEqual(ceiling);
    expect(subSpaceThroughGame().maxWin).toBeLessThanOrEqual(maxWin);
  },
  heavyTestTimeoutMs,
);
