/**
 * Memory cost of idle actors: activates 100,000 player-like actors (BENCH_IDLE_ACTORS), lets
 * them go idle, forces a full GC and prints heap and RSS before and after, per actor.
 *
 * The per-actor figure includes the actor's own state (a balance, a seq, a small object) and
 * its id string; the same state allocated without the runtime is measured first so that the
 * runtime's own overhead can be told apart.
 *
 * Run: bun bench/actorsMemory.ts. Exits 1 when the runtime overhead reaches 1 KiB per actor.
 */

import { ActorSystem } from "../src/actors/system.ts";
import type { Actor, ActorContext } from "../src/actors/types.ts";

const actorCount = Number(process.env.BENCH_IDLE_ACTORS ?? 100_000);
if (!Number.isInteger(actorCount) || actorCount < 1 || actorCount > 10_000_000) {
  throw new RangeError(`BENCH_IDLE_ACTORS must be an integer in [1, 10000000], got ${actorCount}`);
}
/** Asks in flight at once while activating: keeps the pending-ask timers bounded. */
const activationBatchSize = 1_000;
const askTimeoutMs = 10_000;
const runtimeOverheadBytesMax = 1_024;

interface PlayerState {
  balance: number;
  seq: number;
  profile: { currency: string; vip: boolean };
}

function newPlayerState(): PlayerState {
  return { balance: 100_000, seq: 0, profile: { currency: "EUR", vip: false } };
}

function playerFactory(context: ActorContext): Actor<"balance", number> {
  void context;
  let state: PlayerState | null = null;
  return {
    async started() {
      state = newPlayerState();
    },
    async receive() {
      if (state === null) throw new Error("receive before started");
      return state.balance;
    },
  };
}

interface Sample {
  heapUsedBytes: number;
  rssBytes: number;
}

function sample(): Sample {
  Bun.gc(true);
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsedBytes: heapUsed, rssBytes: rss };
}

function playerId(index: number): string {
  return `player-${index.toString().padStart(8, "0")}`;
}

const mib = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MiB`;

/**
 * The same actor objects (with their closures, addresses and started state) without the runtime:
 * what the actors themselves cost, so that the difference is the runtime's own. Held in a plain
 * array: a lookup by id (a map and its keys) is the runtime's registry, counted as its overhead.
 */
async function measureBareStateBytes(): Promise<number> {
  const before = sample();
  const actors: Actor<"balance", number>[] = [];
  for (let index = 0; index < actorCount; index += 1) {
    const id = playerId(index);
    const actor = playerFactory({ address: { kind: "player", id }, restarts: 0 });
    await actor.started?.();
    actors.push(actor);
  }
  const after = sample();
  if (actors.length !== actorCount) throw new Error("bare actor count");
  actors.length = 0; // gone before the runtime's own sample
  return (after.heapUsedBytes - before.heapUsedBytes) / actorCount;
}

async function activateAll(system: ActorSystem): Promise<void> {
  for (let start = 0; start < actorCount; start += activationBatchSize) {
    const batch: Promise<number>[] = [];
    for (let index = start; index < Math.min(start + activationBatchSize, actorCount); index += 1) {
      batch.push(
        system.ask<"balance", number>("player", playerId(index), "balance", {
          timeoutMs: askTimeoutMs,
        }),
      );
    }
    await Promise.all(batch);
  }
}

async function main(): Promise<void> {
  const bareStateBytes = await measureBareStateBytes();
  const system = new ActorSystem({ idleMs: 3_600_000 }); // nothing passivates during the run
  system.register("player", playerFactory);
  const before = sample();
  await activateAll(system);
  const after = sample();
  if (system.activeCount("player") !== actorCount) throw new Error("not every actor is active");

  const perActorBytes = (after.heapUsedBytes - before.heapUsedBytes) / actorCount;
  const overheadBytes = perActorBytes - bareStateBytes;
  console.log(`idle actors:              ${actorCount.toLocaleString("en")}`);
  console.log(
    `heap used before / after: ${mib(before.heapUsedBytes)} / ${mib(after.heapUsedBytes)}`,
  );
  console.log(`rss before / after:       ${mib(before.rssBytes)} / ${mib(after.rssBytes)}`);
  console.log(`heap per actor:           ${perActorBytes.toFixed(0)} B`);
  console.log(
    `  of which the actors:    ${bareStateBytes.toFixed(0)} B (actor objects, their addresses and state, measured without the runtime)`,
  );
  console.log(
    `  runtime overhead:       ${overheadBytes.toFixed(0)} B (target < ${runtimeOverheadBytesMax} B)`,
  );
  console.log(
    `rss per actor:            ${((after.rssBytes - before.rssBytes) / actorCount).toFixed(0)} B`,
  );

  const report = await system.stop(10_000);
  const stopped = sample();
  console.log(
    `after stop:               ${report.passivated.toLocaleString("en")} passivated, heap ${mib(stopped.heapUsedBytes)}`,
  );
  if (overheadBytes >= runtimeOverheadBytesMax) process.exitCode = 1;
}

await main();
