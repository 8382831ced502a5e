import { expect, test } from "bun:test";
import type { Leaderboards } from "./leaderboards.ts";
import { WinRecorder } from "./winRecorder.ts";

/** A store whose writes wait until released, or fail: what a slow or broken Redis does. */
function heldStore(fail = false) {
  const waiting: (() => void)[] = [];
  const recorded: string[] = [];
  const store: Leaderboards = {
    recordWin: (_board, playerId) =>
      new Promise<void>((resolve, reject) => {
        waiting.push(() => {
          recorded.push(playerId);
          if (fail) reject(new Error("the store refused"));
          else resolve();
        });
      }),
    top: async () => [],
    close: async () => {},
  };
  const releaseAll = () => {
    for (const go of waiting.splice(0)) go();
  };
  return { store, recorded, releaseAll };
}

test("win recorder - past the pending bound a background update is dropped and told", async () => {
  const held = heldStore();
  const lost: string[] = [];
  const recorder = new WinRecorder(held.store, 2, (reason) => lost.push(reason));
  for (const player of ["a", "b", "c"]) recorder.record(player, 10);
  recorder.record("d", 0); // no win: nothing to record
  expect(lost).toEqual(["dropped"]);
  held.releaseAll();
  await Promise.resolve();
  expect(held.recorded).toEqual(["a", "b"]);
});

test("win recorder - recordNow waits its turn instead of dropping, and tells of a failure", async () => {
  const held = heldStore(true);
  const lost: string[] = [];
  const recorder = new WinRecorder(held.store, 1, (reason) => lost.push(reason));
  const pending = [recorder.recordNow("a", 10), recorder.recordNow("b", 20)];
  held.releaseAll();
  await Promise.all(pending); // never rejects
  expect(held.recorded).toEqual(["a", "b"]);
  expect(lost).toEqual(["failed", "failed"]);
});
