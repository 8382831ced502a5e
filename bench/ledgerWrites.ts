/**
 * Ledger write throughput: spin-shaped writes through the full `Ledger.write` path (worker, group
 * commit, per-write savepoint and checks) from many concurrent players, each awaiting its own
 * writes in turn; then, as a baseline, the same rows inserted directly with batched multi-row
 * INSERTs on one bun:sqlite connection with the same pragmas (synchronous=FULL), no checks.
 *
 *   bun bench/ledgerWrites.ts
 *   LEDGER_BENCH_PLAYERS=2000 LEDGER_BENCH_SECONDS=5 LEDGER_BENCH_ROUND_IDS=random bun bench/ledgerWrites.ts
 */
import type { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config/load.ts";
import { openEmbeddedLedger } from "../src/store/embedded/embeddedLedger.ts";
import { embeddedLedgerDefaults } from "../src/store/embedded/options.ts";
import { ledgerPath, openWriterDatabase } from "../src/store/embedded/schema.ts";
import type { Posting, WalletWrite } from "../src/store/ledger.ts";

const playersCount = Number(process.env.LEDGER_BENCH_PLAYERS ?? 2_000);
const durationMs = 1_000 * Number(process.env.LEDGER_BENCH_SECONDS ?? 5);
const randomRoundIds = process.env.LEDGER_BENCH_ROUND_IDS === "random";
const config = loadConfig(process.env);
const startingBalance = 1_000_000_000;
const bet = 100;

/** ~300 bytes of reply, as a spin.result with its outcome is on the wire. */
const outcomeText = JSON.stringify({
  stops: [3, 17, 9, 22, 5],
  lines: [[1, 1, 1, 1, 1]],
  paytable: "v1",
});
let roundCounter = 0;

function roundId(): string {
  roundCounter += 1;
  if (randomRoundIds) return crypto.randomUUID();
  // Time-ordered ids keep the round index append-only.
  return `r${Date.now().toString(36)}${roundCounter.toString(36).padStart(8, "0")}`;
}

function spin(playerId: string, seq: number): WalletWrite {
  const id = `spin-${playerId}-${seq}`;
  const win = seq % 3 === 0 ? 250 : 0;
  const round = roundId();
  const postings: Posting[] = [
    { account: `player:${playerId}`, amount: -bet, kind: "bet" },
    { account: "house:slot", amount: bet },
  ];
  if (win > 0) {
    postings.push(
      { account: "house:slot", amount: -win },
      { account: `player:${playerId}`, amount: win, kind: "win" },
    );
  }
  const reply = JSON.stringify({
    type: "spin.result",
    id,
    seq,
    roundId: round,
    bet,
    win,
    balance: 0,
    outcome: outcomeText,
  }).padEnd(300);
  return {
    playerId,
    commandId: id,
    requestHash: `spin:slot:${bet}`,
    seq,
    postings,
    reply,
    event: reply,
    round: { roundId: round, game: "slot", detail: reply.slice(0, 160) },
  };
}

function start(playerId: string): WalletWrite {
  const reply = JSON.stringify({
    type: "balance",
    seq: 1,
    balance: startingBalance,
    reason: "deposit",
  });
  return {
    playerId,
    commandId: "start",
    requestHash: "start",
    seq: 1,
    postings: [
      { account: "cash", amount: -startingBalance },
      { account: `player:${playerId}`, amount: startingBalance, kind: "start" },
    ],
    reply,
    event: reply,
  };
}

function percentile(sorted: Float64Array, fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? 0;
}

async function benchLedger(dataDir: string) {
  const ledger = await openEmbeddedLedger({
    dataDir,
    groupCommitWindowMs: config.groupCommitWindowMs,
    groupCommitWritesMax: config.groupCommitWritesMax,
    queueMax: config.ledgerQueueMax,
  });
  const players = Array.from({ length: playersCount }, (_, index) => `player${index}`);
  await Promise.all(players.map((playerId) => ledger.write(start(playerId))));
  const before = ledger.stats();
  const latenciesMs: number[] = [];
  const startedMs = performance.now();
  const endMs = startedMs + durationMs;
  let writes = 0;
  await Promise.all(
    players.map(async (playerId) => {
      for (let seq = 2; performance.now() < endMs; seq++) {
        const issuedMs = performance.now();
        const outcome = await ledger.write(spin(playerId, seq));
        if (outcome.status !== "committed")
          throw new Error(`${playerId} ${seq}: ${outcome.status}`);
        latenciesMs.push(performance.now() - issuedMs);
        writes += 1;
      }
    }),
  );
  const elapsedMs = performance.now() - startedMs;
  const after = ledger.stats();
  const report = await ledger.audit();
  const durability = ledger.durability();
  await ledger.close();
  const sorted = Float64Array.from(latenciesMs).sort();
  return {
    durability,
    writes,
    elapsedMs,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    batches: after.batches - before.batches,
    batchWritesMax: after.batchWritesMax,
    workerBusyMs: after.workerBusyMs - before.workerBusyMs,
    report,
  };
}

type Binding = string | number | null;

/** One multi-row INSERT per table for a chunk of spins, bindings flattened in row order. */
interface RawChunk {
  journal: Binding[];
  postings: Binding[];
  players: Binding[];
}

/** Rows of a chunk of spins exactly as the ledger stores them (balances are not tracked). */
function rawChunk(writes: WalletWrite[], firstJournalId: number, atMs: number): RawChunk {
  const chunk: RawChunk = { journal: [], postings: [], players: [] };
  writes.forEach((write, index) => {
    const journalId = firstJournalId + index;
    const { round } = write;
    chunk.journal.push(
      journalId,
      write.playerId,
      write.seq,
      write.commandId,
      write.requestHash,
      write.reply,
      null,
      atMs,
      round?.roundId ?? null,
      round?.game ?? null,
      round?.detail ?? null,
    );
    write.postings.forEach((posting, n) => {
      const own = posting.account.startsWith("player:");
      chunk.postings.push(
        journalId,
        n,
        posting.account,
        own ? (posting.kind ?? null) : null,
        posting.amount,
        own ? startingBalance : null,
      );
    });
    chunk.players.push(write.playerId, startingBalance, write.seq);
  });
  return chunk;
}

function valuesSql(columns: number, bindings: number): string {
  const row = `(${Array(columns).fill("?").join(",")})`;
  return Array(bindings / columns)
    .fill(row)
    .join(",");
}

function insertChunk(db: Database, chunk: RawChunk): void {
  // db.query caches statements by text: chunks of the same shape reuse one.
  db.query(
    `INSERT INTO journal (id, player_id, seq, command_id, request_hash, reply, event, at, round_id, game, round_detail) VALUES ${valuesSql(11, chunk.journal.length)}`,
  ).run(...chunk.journal);
  db.query(
    `INSERT INTO postings (journal_id, n, account, kind, amount, balance_after) VALUES ${valuesSql(6, chunk.postings.length)}`,
  ).run(...chunk.postings);
  db.query(
    `INSERT INTO players (player_id, balance, seq) VALUES ${valuesSql(3, chunk.players.length)} ON CONFLICT (player_id) DO UPDATE SET balance = excluded.balance, seq = excluded.seq`,
  ).run(...chunk.players);
}

/** The same number of spins, players round-robin, in transactions of the same size. */
function rawBatches(writesTotal: number): RawChunk[][] {
  // Multi-row statements hold at most 30 spins (330 bound values per journal statement).
  const spinsPerChunk = 30;
  const seqs = new Array<number>(playersCount).fill(1);
  const batches: RawChunk[][] = [];
  let journalId = 1;
  for (let done = 0; done < writesTotal; ) {
    const batchSize = Math.min(config.groupCommitWritesMax, writesTotal - done);
    const batch: RawChunk[] = [];
    for (let offset = 0; offset < batchSize; offset += spinsPerChunk) {
      const writes: WalletWrite[] = [];
      for (let i = 0; i < Math.min(spinsPerChunk, batchSize - offset); i++) {
        const player = (done + offset + i) % playersCount;
        const seq = (seqs[player] ?? 1) + 1;
        seqs[player] = seq;
        writes.push(spin(`player${player}`, seq));
      }
      batch.push(rawChunk(writes, journalId, Date.now()));
      journalId += writes.length;
    }
    batches.push(batch);
    done += batchSize;
  }
  return batches;
}

/** Baseline: only SQLite's work. The rows are built before the clock starts. */
function benchRawInserts(dataDir: string, writesTotal: number) {
  mkdirSync(dataDir, { recursive: true });
  const db = openWriterDatabase(ledgerPath(dataDir), {
    busyTimeoutMs: embeddedLedgerDefaults.busyTimeoutMs,
    cacheKiB: embeddedLedgerDefaults.writerCacheKiB,
    walAutocheckpointPages: embeddedLedgerDefaults.walAutocheckpointPages,
  });
  const batches = rawBatches(writesTotal);
  const startedMs = performance.now();
  for (const batch of batches) {
    db.run("BEGIN IMMEDIATE");
    for (const chunk of batch) insertChunk(db, chunk);
    db.run("COMMIT");
  }
  const elapsedMs = performance.now() - startedMs;
  db.close();
  return { writes: writesTotal, elapsedMs };
}

const perSecond = (writes: number, ms: number) => Math.round(writes / (ms / 1_000));
const root = await mkdtemp(join(tmpdir(), "croupier-bench-ledger-"));
try {
  const full = await benchLedger(join(root, "full"));
  const raw = benchRawInserts(join(root, "raw"), full.writes);
  const fullRate = perSecond(full.writes, full.elapsedMs);
  const rawRate = perSecond(raw.writes, raw.elapsedMs);
  console.log(
    `ledger writes: ${playersCount} players, ${durationMs / 1_000} s, ${randomRoundIds ? "random" : "time-ordered"} round ids`,
  );
  console.log(`  ${full.durability}`);
  console.log(
    `  full Ledger.write path: ${full.writes} spins in ${Math.round(full.elapsedMs)} ms = ${fullRate} writes/s` +
      ` (latency p50 ${full.p50Ms.toFixed(1)} ms, p99 ${full.p99Ms.toFixed(1)} ms)`,
  );
  console.log(
    `    ${full.batches} transactions, ${Math.round(full.writes / Math.max(1, full.batches))} writes each on average (max ${full.batchWritesMax});` +
      ` worker busy ${Math.round(full.workerBusyMs)} ms = ${perSecond(full.writes, full.workerBusyMs)} writes per worker-second`,
  );
  console.log(
    `  raw multi-row INSERTs of the same rows (prebuilt, one thread, synchronous=FULL): ${raw.writes} spins in ${Math.round(raw.elapsedMs)} ms = ${rawRate} writes/s`,
  );
  console.log(`  ratio full / raw: ${(fullRate / rawRate).toFixed(2)}`);
  const { counts, elapsedMs, ok } = full.report;
  console.log(
    `  audit of the bench ledger: ${ok ? "ok" : "FAILED"}, ${counts.postings} postings in ${elapsedMs} ms`,
  );
  if (!ok) process.exitCode = 1;
} finally {
  await rm(root, { recursive: true, force: true });
}
