/**
 * Memory of idle *real* player actors: 100,000 (BENCH_IDLE_ACTORS) PlayerActors activated
 * against the embedded ledger (each loads its wallet on activation), left idle, then measured
 * after a full GC. Complements bench/actorsMemory.ts, which isolates the runtime's own overhead.
 *
 * Run: bun bench/playerActorsMemory.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type PlayerMessage,
  type PlayerReply,
  playerActorFactory,
  playerActorKind,
} from "../src/actors/player.ts";
import { ActorSystem } from "../src/actors/system.ts";
import { LocalPlayerEventBus } from "../src/cluster/playerEvents.ts";
import { randomInt } from "../src/games/rng.ts";
import { openEmbeddedLedger } from "../src/store/embedded/embeddedLedger.ts";

const actorCount = Number(process.env.BENCH_IDLE_ACTORS ?? 100_000);
const activationBatchSize = 1_000;

function heapAndRss(): { heapBytes: number; rssBytes: number } {
  Bun.gc(true);
  const { heapUsed, rss } = process.memoryUsage();
  return { heapBytes: heapUsed, rssBytes: rss };
}

const dataDir = mkdtempSync(join(tmpdir(), "croupier-actors-"));
const ledger = await openEmbeddedLedger({
  dataDir,
  groupCommitWindowMs: 1,
  groupCommitWritesMax: 250,
  queueMax: 20_000,
});
const system = new ActorSystem({ mailboxCapacity: 64, idleMs: 24 * 3_600_000 });
system.register(
  playerActorKind,
  playerActorFactory({
    ledger,
    events: new LocalPlayerEventBus(),
    random: randomInt,
    slotBetMin: 20,
    slotBetMax: 10_000,
    slotBetStep: 20,
    startingBalance: 0, // operator mode: activation reads the wallet and writes nothing
    now: Date.now,
    tables: new Map(),
    askTable: () => Promise.reject(new Error("no tables in this bench")),
  }),
);
const before = heapAndRss();
const startedAt = performance.now();
for (let i = 0; i < actorCount; i += activationBatchSize) {
  const batch = [];
  for (let j = i; j < Math.min(actorCount, i + activationBatchSize); j++) {
    batch.push(
      system.ask<PlayerMessage, PlayerReply>(
        playerActorKind,
        `player-${j}`,
        { type: "state" },
        { timeoutMs: 30_000 },
      ),
    );
  }
  await Promise.all(batch);
}
const activationMs = performance.now() - startedAt;
const after = heapAndRss();
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
console.log(
  `idle player actors: ${system.activeCount(playerActorKind)} activated in ${activationMs.toFixed(0)} ms; ` +
    `heap ${mib(before.heapBytes)} -> ${mib(after.heapBytes)} MiB (${((after.heapBytes - before.heapBytes) / actorCount).toFixed(0)} B per actor), ` +
    `RSS ${mib(before.rssBytes)} -> ${mib(after.rssBytes)} MiB (${((after.rssBytes - before.rssBytes) / actorCount).toFixed(0)} B per actor)`,
);
await system.stop(10_000);
await ledger.close();
rmSync(dataDir, { recursive: true, force: true });
