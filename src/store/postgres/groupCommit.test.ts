import { expect, test } from "bun:test";
import { CroupierError } from "../../errors.ts";
import { waitFor } from "../../testing/waitFor.ts";
import type { WalletWrite } from "../ledger.ts";
import { depositWrite } from "../ledgerContract.ts";
import type { WriteResult } from "./batchPlan.ts";
import { GroupCommit, type GroupCommitSettings, splitWritesMin } from "./groupCommit.ts";

/** The scheduling of group commit, against a fake database: no Postgres needed. */

const settings: GroupCommitSettings = {
  windowMs: 1,
  writesMax: 1_000,
  queueMax: 10_000,
  transactionsMax: 2,
};

/** A fake commit that records each batch and lets the test decide when it finishes. */
function recorder() {
  const batches: { writes: readonly WalletWrite[]; finish(): void; fail(error: Error): void }[] =
    [];
  const inFlight = new Set<string>();
  let overlaps = 0;
  const commit = (writes: readonly WalletWrite[]) => {
    const { promise, resolve, reject } = Promise.withResolvers<WriteResult[]>();
    const players = new Set(writes.map((write) => write.playerId));
    for (const player of players) {
      if (inFlight.has(player)) overlaps += 1;
      inFlight.add(player);
    }
    const done = () => {
      for (const player of players) inFlight.delete(player);
    };
    batches.push({
      writes,
      finish() {
        done();
        resolve(writes.map((write) => ({ outcome: { status: "committed", balance: write.seq } })));
      },
      fail(error) {
        done();
        reject(error);
      },
    });
    return promise;
  };
  return { batches, commit, overlaps: () => overlaps };
}

function until(condition: () => boolean): Promise<void> {
  return waitFor(condition, 2_000, "the expected batches", 1);
}

test("group commit - a player's writes are never in two transactions at once, and keep their order", async () => {
  const fake = recorder();
  const groupCommit = new GroupCommit(settings, fake.commit);
  const first = groupCommit.submit(depositWrite("p1", 1, "a", 1));
  await until(() => fake.batches.length === 1);
  // p1 is in flight: its next writes wait; p2's go out in the other slot.
  const later = [
    groupCommit.submit(depositWrite("p1", 2, "b", 1)),
    groupCommit.submit(depositWrite("p2", 1, "c", 1)),
    groupCommit.submit(depositWrite("p1", 3, "d", 1)),
  ];
  await until(() => fake.batches.length === 2);
  expect(fake.batches[1]?.writes.map((write) => write.commandId)).toEqual(["c"]);
  fake.batches[0]?.finish();
  await first;
  await until(() => fake.batches.length === 3);
  expect(fake.batches[2]?.writes.map((write) => write.commandId)).toEqual(["b", "d"]);
  fake.batches[1]?.finish();
  fake.batches[2]?.finish();
  await Promise.all(later);
  expect(fake.overlaps()).toBe(0);
  expect(groupCommit.outstanding).toBe(0);
});

test("group commit - a large queue is shared between the free transaction slots", async () => {
  const fake = recorder();
  const groupCommit = new GroupCommit(settings, fake.commit);
  const count = 4 * splitWritesMin;
  const outcomes = Array.from({ length: count }, (_, index) =>
    groupCommit.submit(depositWrite(`p${index}`, 1, "d", 1)),
  );
  await until(() => fake.batches.length === 2);
  expect(fake.batches.map((batch) => batch.writes.length)).toEqual([count / 2, count / 2]);
  for (const batch of fake.batches) batch.finish();
  expect(await Promise.all(outcomes)).toHaveLength(count);
});

test("group commit - past queueMax outstanding writes, submit refuses at once with BUSY", async () => {
  const fake = recorder();
  const groupCommit = new GroupCommit({ ...settings, queueMax: 2 }, fake.commit);
  const accepted = [1, 2].map((index) => groupCommit.submit(depositWrite(`p${index}`, 1, "d", 1)));
  await expect(groupCommit.submit(depositWrite("p3", 1, "d", 1))).rejects.toMatchObject({
    code: "BUSY",
  });
  await until(() => fake.batches.length === 1);
  fake.batches[0]?.finish();
  await Promise.all(accepted);
});

test("group commit - a failed transaction fails each of its writes with its error, then goes on", async () => {
  const fake = recorder();
  const groupCommit = new GroupCommit(settings, fake.commit);
  const doomed = groupCommit.submit(depositWrite("p1", 1, "d", 1));
  await until(() => fake.batches.length === 1);
  fake.batches[0]?.fail(new CroupierError("INTERNAL", "commit outcome unknown"));
  await expect(doomed).rejects.toMatchObject({ code: "INTERNAL" });
  const next = groupCommit.submit(depositWrite("p1", 1, "d", 1));
  await until(() => fake.batches.length === 2);
  fake.batches[1]?.finish();
  expect(await next).toEqual({ status: "committed", balance: 1 });
});

test("group commit - drain commits what is queued and then refuses new writes", async () => {
  const fake = recorder();
  const groupCommit = new GroupCommit({ ...settings, windowMs: 1_000 }, fake.commit);
  const queued = groupCommit.submit(depositWrite("p1", 1, "d", 1));
  const startedMs = performance.now();
  const drained = groupCommit.drain();
  await until(() => fake.batches.length === 1);
  // Closing does not wait out the window.
  expect(performance.now() - startedMs).toBeLessThan(500);
  fake.batches[0]?.finish();
  await drained;
  expect(await queued).toMatchObject({ status: "committed" });
  await expect(groupCommit.submit(depositWrite("p2", 1, "d", 1))).rejects.toMatchObject({
    code: "BUSY",
  });
});
