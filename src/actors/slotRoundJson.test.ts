import { describe, expect, test } from "bun:test";
import { randomInt } from "../games/rng.ts";
import { type SlotOutcome, slotGame } from "../games/slot/play.ts";
import { roundDetailJson, spinResultJson } from "./slotRoundJson.ts";

/** Outcomes of every shape the game makes: losses, line wins, scatter wins, several lines. */
function outcomes(count: number): SlotOutcome[] {
  return Array.from({ length: count }, () => slotGame.play(20, randomInt));
}

describe("slot round JSON written by hand", () => {
  test("the reply is exactly JSON.stringify of the reply object", () => {
    const played = outcomes(5_000);
    expect(played.some((o) => o.lines.length > 1)).toBe(true);
    expect(played.some((o) => o.scatter.win > 0)).toBe(true);
    expect(played.some((o) => o.win === 0)).toBe(true);
    for (const [i, outcome] of played.entries()) {
      const fields = {
        commandId: i % 2 === 0 ? `spin-${i}` : `odd"id\\${i}\u2028`,
        seq: i + 1,
        roundId: Bun.randomUUIDv7(),
        bet: 20,
        balance: 1_000_000_000_000 - i,
        outcome,
      };
      const expected = JSON.stringify({
        type: "spin.result",
        id: fields.commandId,
        seq: fields.seq,
        roundId: fields.roundId,
        bet: fields.bet,
        win: outcome.win,
        balance: fields.balance,
        outcome: {
          stops: outcome.stops,
          window: outcome.window,
          lines: outcome.lines,
          scatter: outcome.scatter,
        },
      });
      expect(spinResultJson(fields)).toBe(expected);
    }
  });

  test("the round detail is exactly JSON.stringify of the detail object", () => {
    for (const [i, outcome] of outcomes(2_000).entries()) {
      const fields = {
        roundId: Bun.randomUUIDv7(),
        game: "slot",
        playerId: i % 3 === 0 ? `player "${i}"` : `p${i}`,
        commandId: `c${i}`,
        bet: 40,
        outcome,
        seq: i + 7,
        balanceAfter: i * 13,
        atMs: 1_795_862_021_666 + i,
      };
      const expected = JSON.stringify({
        roundId: fields.roundId,
        game: fields.game,
        playerId: fields.playerId,
        id: fields.commandId,
        bet: fields.bet,
        win: outcome.win,
        stops: outcome.stops,
        paytableVersion: outcome.paytableVersion,
        settlement: { seq: fields.seq, balanceAfter: fields.balanceAfter, atMs: fields.atMs },
      });
      expect(roundDetailJson(fields)).toBe(expected);
    }
  });

  test("numbers that are not safe integers print as JSON prints them", () => {
    const [outcome] = outcomes(1) as [SlotOutcome];
    const odd = { ...outcome, win: 2 ** 60, scatter: { count: 0, win: -0 } };
    const fields = { commandId: "x", seq: 1, roundId: "r", bet: 0.5, balance: 1e21, outcome: odd };
    expect(JSON.parse(spinResultJson(fields))).toEqual(
      JSON.parse(
        JSON.stringify({
          type: "spin.result",
          id: "x",
          seq: 1,
          roundId: "r",
          bet: 0.5,
          win: 2 ** 60,
          balance: 1e21,
          outcome: { stops: odd.stops, window: odd.window, lines: odd.lines, scatter: odd.scatter },
        }),
      ),
    );
  });
});
