import { afterEach, describe, expect, test } from "bun:test";
import { CroupierError } from "../errors.ts";
import { biggestWinBoard as board, compareEntries, type Leaderboards } from "./leaderboards.ts";

/**
 * The behaviour every Leaderboards backend must show, as a reusable bun:test suite. `open`
 * returns fresh, empty leaderboards keeping `entriesMax` players per board; every instance a
 * test opens is closed after it.
 */
export function describeLeaderboardsContract(
  name: string,
  open: (limits: { entriesMax: number }) => Promise<Leaderboards>,
): void {
  describe(`${name} contract`, () => {
    const opened: Leaderboards[] = [];
    const fresh = async (entriesMax = 100) => {
      const leaderboards = await open({ entriesMax });
      opened.push(leaderboards);
      return leaderboards;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((l) => l.close()));
    });

    test(`${name} - an empty board has no entries`, async () => {
      expect(await (await fresh()).top(board, 10)).toEqual([]);
    });

    test(`${name} - keeps each player's best score only`, async () => {
      const leaderboards = await fresh();
      await leaderboards.recordWin(board, "p1", 100);
      await leaderboards.recordWin(board, "p1", 300);
      await leaderboards.recordWin(board, "p1", 50);
      expect(await leaderboards.top(board, 10)).toEqual([{ rank: 1, playerId: "p1", score: 300 }]);
    });

    test(`${name} - ranks start at 1, highest score first`, async () => {
      const leaderboards = await fresh();
      await leaderboards.recordWin(board, "p1", 100);
      await leaderboards.recordWin(board, "p2", 300);
      await leaderboards.recordWin(board, "p3", 200);
      expect(await leaderboards.top(board, 10)).toEqual([
        { rank: 1, playerId: "p2", score: 300 },
        { rank: 2, playerId: "p3", score: 200 },
        { rank: 3, playerId: "p1", score: 100 },
      ]);
    });

    test(`${name} - equal scores are ordered by playerId descending, with distinct ranks`, async () => {
      const leaderboards = await fresh();
      for (const playerId of ["b", "a", "c"]) await leaderboards.recordWin(board, playerId, 100);
      expect(await leaderboards.top(board, 10)).toEqual([
        { rank: 1, playerId: "c", score: 100 },
        { rank: 2, playerId: "b", score: 100 },
        { rank: 3, playerId: "a", score: 100 },
      ]);
    });

    test(`${name} - limit bounds the answer`, async () => {
      const leaderboards = await fresh();
      for (let i = 1; i <= 5; i += 1) await leaderboards.recordWin(board, `p${i}`, i);
      expect((await leaderboards.top(board, 2)).map((e) => e.playerId)).toEqual(["p5", "p4"]);
    });

    test(`${name} - a board keeps only its top entriesMax players`, async () => {
      const leaderboards = await fresh(3);
      for (let i = 1; i <= 10; i += 1) await leaderboards.recordWin(board, `p${i}`, i * 10);
      expect(await leaderboards.top(board, 100)).toEqual([
        { rank: 1, playerId: "p10", score: 100 },
        { rank: 2, playerId: "p9", score: 90 },
        { rank: 3, playerId: "p8", score: 80 },
      ]);
      await leaderboards.recordWin(board, "p1", 85); // makes the top again
      expect((await leaderboards.top(board, 100)).map((e) => e.playerId)).toEqual([
        "p10",
        "p9",
        "p1",
      ]);
    });

    test(`${name} - boards are independent`, async () => {
      const leaderboards = await fresh();
      await leaderboards.recordWin(board, "p1", 100);
      await leaderboards.recordWin("most-spins", "p2", 7);
      expect(await leaderboards.top("most-spins", 10)).toEqual([
        { rank: 1, playerId: "p2", score: 7 },
      ]);
      expect((await leaderboards.top(board, 10)).map((e) => e.playerId)).toEqual(["p1"]);
    });

    test(`${name} - a bad board name or limit is BAD_REQUEST`, async () => {
      const leaderboards = await fresh();
      for (const call of [
        () => leaderboards.top("Not A Board!", 10),
        () => leaderboards.top(board, 0),
        () => leaderboards.top(board, 1.5),
      ]) {
        const error = await call().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(CroupierError);
        expect((error as CroupierError).code).toBe("BAD_REQUEST");
      }
    });

    test(`${name} - matches a model of every win ever recorded`, async () => {
      const entriesMax = 10;
      const leaderboards = await fresh(entriesMax);
      const best = new Map<string, number>();
      let seed = 12345; // a fixed LCG: the same wins on every run
      const next = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed;
      };
      for (let i = 0; i < 300; i += 1) {
        const playerId = `p${next() % 40}`;
        const score = (next() % 50) * 100; // few distinct scores: many ties
        best.set(playerId, Math.max(best.get(playerId) ?? 0, score));
        await leaderboards.recordWin(board, playerId, score);
      }
      const expected = [...best]
        .map(([playerId, score]) => ({ playerId, score }))
        .sort(compareEntries)
        .slice(0, entriesMax)
        .map((entry, index) => ({ rank: index + 1, ...entry }));
      expect(await leaderboards.top(board, entriesMax)).toEqual(expected);
    });
  });
}
