import { describe, expect, test } from "bun:test";
import { evaluateStops, slotGame } from "../games/slot/play.ts";
import { presentRound } from "./roundView.ts";

function storedRound(win: number) {
  const stops = [3, 7, 11, 2, 5];
  const detail = JSON.stringify({
    roundId: "r1",
    game: "slot",
    bet: 100,
    win,
    stops,
    paytableVersion: slotGame.paytableVersion,
  });
  return { roundId: "r1", playerId: "p", game: "slot", detail, at: 0 };
}

describe("round view", () => {
  test("round view - re-evaluates the stored stops and shows the window and line wins", () => {
    const expected = evaluateStops([3, 7, 11, 2, 5], 100);
    const shown = JSON.parse(presentRound(storedRound(expected.win)));
    expect(shown.verified).toBe(true);
    expect(shown.result.window).toEqual(expected.window);
    expect(shown.lines).toEqual(expected.lines);
  });

  test("round view - a stored win that the maths does not reproduce is shown unverified, not corrected", () => {
    const expected = evaluateStops([3, 7, 11, 2, 5], 100);
    const shown = JSON.parse(presentRound(storedRound(expected.win + 20)));
    expect(shown.verified).toBe(false);
    expect(shown.win).toBe(expected.win + 20);
    expect(shown.lines).toBeUndefined();
  });
});
