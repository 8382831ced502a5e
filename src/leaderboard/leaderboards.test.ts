import { expect, test } from "bun:test";
import { leaderboardKey } from "../redis/keys.ts";
import {
  describeWithRedis,
  sharedRedis,
  suiteKeyPrefix,
  testClient,
} from "../testing/redisTestServer.ts";
import { biggestWinBoard } from "./leaderboards.ts";
import { describeLeaderboardsContract } from "./leaderboardsContract.ts";
import { MemoryLeaderboards } from "./memoryLeaderboards.ts";
import { RedisLeaderboards } from "./redisLeaderboards.ts";

describeLeaderboardsContract(
  "memory leaderboards",
  async ({ entriesMax }) => new MemoryLeaderboards({ entriesMax }),
);

test("memory leaderboards - many improving wins keep the board what a plain model says", async () => {
  const entriesMax = 50;
  const boards = new MemoryLeaderboards({ entriesMax });
  const best = new Map<string, number>();
  let seed = 7;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed;
  };
  for (let i = 0; i < 5_000; i++) {
    const playerId = `p${next() % 200}`;
    const score = next() % 1_000; // many ties, many improvements
    await boards.recordWin(biggestWinBoard, playerId, score);
    best.set(playerId, Math.max(best.get(playerId) ?? 0, score));
  }
  // The model: every player's best, ranked by score then id, cut at entriesMax. (A player cut
  // off the board never comes back with a lower score: once full, the cut only rises.)
  const model = [...best]
    .map(([playerId, score]) => ({ playerId, score }))
    .sort((a, b) => b.score - a.score || (a.playerId < b.playerId ? 1 : -1))
    .slice(0, entriesMax);
  const top = await boards.top(biggestWinBoard, entriesMax);
  expect(top.map(({ playerId, score }) => ({ playerId, score }))).toEqual(model);
});

test("memory leaderboards - a board past boardsMax is refused", async () => {
  const leaderboards = new MemoryLeaderboards({ boardsMax: 2 });
  await leaderboards.recordWin("a", "p1", 1);
  await leaderboards.recordWin("b", "p1", 1);
  await expect(leaderboards.recordWin("c", "p1", 1)).rejects.toThrow("more than 2 boards");
  expect(await leaderboards.top("c", 10)).toEqual([]);
});

test("memory leaderboards - a score that is not a non-negative safe integer is refused", async () => {
  const leaderboards = new MemoryLeaderboards();
  for (const score of [-1, 1.5, Number.NaN, 2 ** 53]) {
    await expect(leaderboards.recordWin(biggestWinBoard, "p1", score)).rejects.toThrow(RangeError);
  }
});

const redis = await sharedRedis();

describeWithRedis(redis, "redis leaderboards", (url) => {
  // A prefix per suite run (its keys are deleted after it), and a sub-prefix per instance so
  // that every test starts with empty boards.
  const suitePrefix = suiteKeyPrefix(redis);
  let instance = 0;
  const openRedis = (entriesMax: number) => {
    instance += 1;
    return RedisLeaderboards.open({ url, keyPrefix: `${suitePrefix}-${instance}`, entriesMax });
  };

  describeLeaderboardsContract("redis leaderboards", ({ entriesMax }) => openRedis(entriesMax));

  test("redis leaderboards - the sorted set never holds more than entriesMax members", async () => {
    const leaderboards = await openRedis(5);
    for (let i = 0; i < 20; i += 1) await leaderboards.recordWin(biggestWinBoard, `p${i}`, i);
    const client = testClient(url);
    await client.connect();
    try {
      expect(
        await client.zcard(leaderboardKey(`${suitePrefix}-${instance}`, biggestWinBoard)),
      ).toBe(5);
    } finally {
      client.disconnect();
      await leaderboards.close();
    }
  });
});
