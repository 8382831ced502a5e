import { expect, test } from "bun:test";
import type { RandomSource } from "../rng.ts";
import { evaluateStops, slotGame } from "./index.ts";
import { paylines } from "./paylines.ts";
import { paytableVersion } from "./paytable.ts";
import { reelStrips } from "./reels.ts";

/** A source that returns `values` in order and records the ranges it was asked for. */
function scriptedSource(values: readonly number[]): { random: RandomSource; ranges: number[] } {
  const ranges: number[] = [];
  let next = 0;
  const random: RandomSource = (maxExclusive) => {
    ranges.push(maxExclusive);
    const value = values[next++];
    if (value === undefined) throw new Error("scripted source exhausted");
    return value;
  };
  return { random, ranges };
}

test("slot - the game describes itself", () => {
  expect(slotGame.id).toBe("slot");
  expect(slotGame.paylineCount).toBe(paylines.length);
  expect(slotGame.paylineCount).toBeGreaterThanOrEqual(20);
  expect(slotGame.paytableVersion).toBe(paytableVersion);
  for (const strip of reelStrips) expect(strip.length).toBeGreaterThanOrEqual(30);
});

test("slot - play draws one uniform stop per reel and evaluates those stops", () => {
  const stops = [3, 0, 17, 36, 34];
  const { random, ranges } = scriptedSource(stops);
  const bet = slotGame.paylineCount * 3;
  const outcome = slotGame.play(bet, random);
  expect(ranges).toEqual(reelStrips.map((strip) => strip.length));
  expect(outcome).toEqual(evaluateStops(stops, bet));
  expect(outcome.stops).toEqual(stops);
  expect(outcome.paytableVersion).toBe(paytableVersion);
});

test("slot - a stored round re-evaluates to the same outcome", () => {
  const bet = slotGame.paylineCount * 50;
  for (let i = 0; i < 200; i++) {
    const outcome = slotGame.play(bet, (n) => (i * 31 + n * 7) % n);
    const stored = JSON.parse(JSON.stringify(outcome));
    expect(evaluateStops(stored.stops, bet)).toEqual(stored);
  }
});

test("slot - play rejects bets that are not positive safe multiples of the line count", () => {
  const lines = slotGame.paylineCount;
  for (const bet of [0, -lines, lines - 1, lines + 1, lines * 1.5, Number.NaN, 2 ** 53]) {
    const { random, ranges } = scriptedSource([0, 0, 0, 0, 0]);
    expect(() => slotGame.play(bet, random)).toThrow(/multiple of/);
    expect(ranges).toEqual([]);
  }
});

test("slot - play rejects a random source that returns a stop off the strip", () => {
  for (const bad of [-1, reelStrips[0]?.length ?? 0, 0.5]) {
    const { random } = scriptedSource([bad, 0, 0, 0, 0]);
    expect(() => slotGame.play(slotGame.paylineCount, random)).toThrow(/random source/);
  }
});
