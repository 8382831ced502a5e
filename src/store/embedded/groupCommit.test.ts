import { expect, test } from "bun:test";
import { GroupCommitPolicy, splitWritesMin } from "./groupCommit.ts";

const settings = { groupCommitWindowMs: 2, groupCommitWritesMax: 250 };

test("ledger - a queue of small size is taken whole", () => {
  const policy = new GroupCommitPolicy(settings);
  expect(policy.take(2 * splitWritesMin - 1)).toBe(2 * splitWritesMin - 1);
});

test("ledger - a closed group of writers is split into two halves that alternate", () => {
  const policy = new GroupCommitPolicy(settings);
  // 200 players' writes arrive at once: half now, the other half next, never all 200 together.
  expect(policy.take(200)).toBe(100);
  expect(policy.take(100)).toBe(100);
  // The answers of the first half came back as 100 new writes, while the second was committed.
  expect(policy.take(100)).toBe(100);
  expect(policy.take(200)).toBe(100);
});

test("ledger - a batch never exceeds groupCommitWritesMax nor what is queued", () => {
  const policy = new GroupCommitPolicy(settings);
  expect(policy.take(10_000)).toBe(250);
  expect(policy.take(10_000)).toBe(250);
  expect(policy.take(120)).toBe(120);
});

test("ledger - the window applies only after the writer was idle for a window", () => {
  const policy = new GroupCommitPolicy(settings);
  expect(policy.waitMs(1, 0)).toBe(2);
  policy.committed(100, 0);
  expect(policy.waitMs(1, 101)).toBe(0);
  expect(policy.waitMs(1, 102)).toBe(2);
  expect(policy.waitMs(250, 500)).toBe(0);
  // Still busy (writes left): no idle time starts.
  policy.committed(600, 5);
  expect(policy.waitMs(1, 1_000)).toBe(2);
});
