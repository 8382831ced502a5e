/**
 * CPU of the embedded ledger's batch writer per spin, in one thread, without the worker and its
 * messages: SQLite and the writer's checks for batches of real spin writes (the node's reply,
 * postings and round record), and how many WAL frames each spin adds.
 *
 *   bun bench/writerCost.ts
 *   WRITER_COST_PLAYERS=1000 WRITER_COST_SYNC=OFF bun bench/writerCost.ts
 *
 * Every 50 batches the WAL is checkpointed and started over outside the clock, as the node's
 * checkpointer thread does, so frames are counted per interval and the file is reused.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { slotRoundWrite } from "../src/actors/slotRound.ts";
import { randomInt } from "../src/games/rng.ts";
import { slotGame } from "../src/games/slot/play.ts";
import { createBatchWriter } from "../src/store/embedded/batchWriter.ts";
import { openWriterDatabase } from "../src/store/embedded/schema.ts";
import type { WalletWrite } from "../src/store/ledger.ts";

const players = Number(process.env.WRITER_COST_PLAYERS ?? 200);
const batches = Number(process.env.WRITER_COST_BATCHES ?? 300);
const synchronous = process.env.WRITER_COST_SYNC ?? "FULL";
const batchesPerCheckpoint = 50;
const bet = 20;
const startingBalance = 1_000_000_000_000;

const dir = mkdtempSync(join(tmpdir(), "croupier-writer-cost-"));
const db = openWriterDatabase(join(dir, "ledger.db"), {
  busyTimeoutMs: 5_000,
  cacheKiB: 64 * 1024,
  walAutocheckpointPages: 40_000,
});
db.run(`PRAGMA synchronous = ${synchronous}`);
const writer = createBatchWriter(db);
// A new file: the command filter is complete at once (the node fills it in steps after opening).
writer.fillCommandFilter(Number.MAX_SAFE_INTEGER);
const balances = new Map<string, number>();
const seqs = new Map<string, number>();

const funding: WalletWrite[] = [];
for (let p = 0; p < players; p++) {
  const playerId = `bench-${p}`;
  const reply = JSON.stringify({ type: "balance", seq: 1, balance: startingBalance });
  funding.push({
    playerId,
    commandId: "start",
    requestHash: "start",
    seq: 1,
    postings: [
      { account: "promo", amount: -startingBalance },
      { account: `player:${playerId}`, amount: startingBalance, kind: "start" },
    ],
    reply,
    event: reply,
    round: undefined,
  });
  balances.set(playerId, startingBalance);
  seqs.set(playerId, 1);
}
writer.commit(funding, Date.now());

/** One spin per player, with ids shaped like the bench clients' (`s<client>-<phase>-<n>`). */
function spinBatch(): WalletWrite[] {
  const writes: WalletWrite[] = [];
  for (let p = 0; p < players; p++) {
    const playerId = `bench-${p}`;
    const seq = (seqs.get(playerId) as number) + 1;
    seqs.set(playerId, seq);
    const outcome = slotGame.play(bet, randomInt);
    const balanceBefore = balances.get(playerId) as number;
    balances.set(playerId, balanceBefore - bet + outcome.win);
    const commandId = `s${p}-1-${seq}`;
    const { reply, postings, round } = slotRoundWrite({
      playerId,
      commandId,
      seq,
      bet,
      balanceBefore,
      outcome,
      atMs: Date.now(),
    });
    writes.push({
      playerId,
      commandId,
      requestHash: `spin:slot:${bet}`,
      seq,
      postings,
      reply,
      event: reply,
      round,
      wager: { amount: bet },
    });
  }
  return writes;
}

const prepared = Array.from({ length: batches }, spinBatch);
const warmupBatches = Math.floor(batches / 5);
let spentMs = 0;
let frames = 0;
let framedSpins = 0;
for (const [i, writes] of prepared.entries()) {
  if (i % batchesPerCheckpoint === 0) {
    // The frames of the previous interval, counted once it lies wholly after the warm-up.
    const [, walFrames] = (db.query("PRAGMA wal_checkpoint(RESTART)").values()[0] ??
      []) as number[];
    if (i - batchesPerCheckpoint >= warmupBatches) {
      frames += walFrames ?? 0;
      framedSpins += batchesPerCheckpoint * players;
    }
  }
  const startedMs = performance.now();
  const results = writer.commit(writes, Date.now());
  if (i >= warmupBatches) spentMs += performance.now() - startedMs;
  for (const result of results) {
    if (!("outcome" in result) || result.outcome.status !== "committed")
      throw new Error(`spin not committed: ${JSON.stringify(result)}`);
  }
}
const measured = (batches - warmupBatches) * players;
console.log(
  `writer: ${((spentMs * 1000) / measured).toFixed(1)} us per spin, ` +
    `${framedSpins > 0 ? (frames / framedSpins).toFixed(2) : "?"} WAL frames per spin ` +
    `(${players} spins per transaction, synchronous=${synchronous}, ${measured} spins timed)`,
);
db.close();
rmSync(dir, { recursive: true, force: true });
