/**
 * Ledger write throughput and latency through the full `Ledger.write` path (worker, group commit,
 * per-write checks) with spin-shaped writes:
 *
 *   1. closed loop, 200 players: each awaits its own write before issuing the next;
 *   2. closed loop, 1000 players (its rate is the "peak");
 *   3. open loop at a fixed rate (default half the peak): writes are due on a clock whether or not
 *      earlier ones finished, so a stall shows as latency of everything due meanwhile.
 *
 * Each run prints writes/s, latency p50/p99/max, group-commit counters and CPU per write of the
 * main thread and of the other threads (the writer and checkpointer workers, JIT, GC), because
 * on a small machine both compete with the network for the same cores.
 *
 *   bun bench/ledgerWrites.ts
 *   LEDGER_BENCH_SECONDS=10 LEDGER_BENCH_RATE=20000 bun bench/ledgerWrites.ts
 *   LEDGER_BENCH_RAW=1 bun bench/ledgerWrites.ts   # also the raw multi-row INSERT baseline
 */

import type { Database } from "bun:sqlite";
import { mkdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../config/load.ts";
import { type EmbeddedLedger, openEmbeddedLedger } from "../src/store/embedded/embeddedLedger.ts";
import { embeddedLedgerDefaults } from "../src/store/embedded/options.ts";
import { ledgerPath, openWriterDatabase } from "../src/store/embedded/schema.ts";
import type { WalletWrite } from "../src/store/ledger.ts";
import { closedLoopSpins, fundingWrite, spinWrite } from "./spinWrites.ts";
import { summarize } from "./stats.ts";

const durationMs = 1_000 * Number(process.env.LEDGER_BENCH_SECONDS ?? 5);
const openLoopRate = Number(process.env.LEDGER_BENCH_RATE ?? 0);
const openLoopPlayers = 1_000;
const randomRoundIds = process.env.LEDGER_BENCH_ROUND_IDS === "random";
const config = loadConfig(process.env);
const startingBalance = 1_000_000_000;
const bet = 100;

let roundCounter = 0;

function roundId(): string {
  roundCounter += 1;
  if (randomRoundIds) return crypto.randomUUID();
  // Time-ordered ids keep the round index append-only.
  return `r${Date.now().toString(36)}${roundCounter.toString(36).padStart(8, "0")}`;
}

function spin(playerId: string, seq: number): WalletWrite {
  return spinWrite(playerId, seq, bet, roundId());
}

function start(playerId: string): WalletWrite {
  return fundingWrite(playerId, startingBalance);
}

/** CPU ms of the calling thread (Linux: /proc/thread-self), or NaN where that is not available. */
function threadCpuMs(): number {
  try {
    const stat = readFileSync("/proc/thread-self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, 10 ms ticks
  } catch {
    return Number.NaN;
  }
}

function processCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1_000;
}

interface Run {
  writes: number;
  latenciesMs: number[];
}

/**
 * A fresh ledger with `players` started, measured from after the start writes until `body`
 * resolves; prints the run and returns its writes/s.
 */
async function measured(
  dataDir: string,
  name: string,
  players: string[],
  body: (ledger: EmbeddedLedger) => Promise<Run>,
): Promise<number> {
  const ledger = await openEmbeddedLedger({
    dataDir,
    groupCommitWindowMs: config.groupCommitWindowMs,
    groupCommitWritesMax: config.groupCommitWritesMax,
    queueMax: config.ledgerQueueMax,
  });
  await Promise.all(players.map((playerId) => ledger.write(start(playerId))));
  const before = ledger.stats();
  const cpuBefore = { main: threadCpuMs(), all: processCpuMs() };
  const startedMs = performance.now();
  const run = await body(ledger);
  const elapsedMs = performance.now() - startedMs;
  const mainMs = threadCpuMs() - cpuBefore.main;
  const otherMs = processCpuMs() - cpuBefore.all - mainMs;
  const after = ledger.stats();
  const report = await ledger.audit();
  await ledger.close();
  // Each run starts without the previous run's files (and their pages in the kernel's cache).
  await rm(dataDir, { recursive: true, force: true });
  const batches = after.batches - before.batches;
  const latency = summarize(run.latenciesMs);
  const perWriteUs = (ms: number) => ((ms * 1_000) / run.writes).toFixed(1);
  const perSecond = Math.round(run.writes / (elapsedMs / 1_000));
  console.log(
    `  ${name}: ${perSecond} writes/s;` +
      ` latency p50 ${latency.p50Ms.toFixed(1)} ms, p99 ${latency.p99Ms.toFixed(1)} ms, max ${latency.maxMs.toFixed(1)} ms`,
  );
  const restarts = after.walRestarts - before.walRestarts;
  console.log(
    `    ${batches} transactions of ${Math.round(run.writes / Math.max(1, batches))} writes on average` +
      ` (max ${after.batchWritesMax}), writer busy ${Math.round(after.workerBusyMs - before.workerBusyMs)} ms,` +
      ` ${restarts} WAL restarts by the writer (longest ${after.walRestartMsMax.toFixed(1)} ms)`,
  );
  console.log(
    `    CPU per write: main thread ${perWriteUs(mainMs)} µs, other threads ${perWriteUs(otherMs)} µs;` +
      ` audit ${report.ok ? "ok" : "FAILED"}`,
  );
  if (!report.ok) process.exitCode = 1;
  return perSecond;
}

function playerIds(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `player${index}`);
}

/** Every player writes, awaits the outcome, and writes again until the time is up. */
async function closedLoop(ledger: EmbeddedLedger, players: string[]) {
  const latenciesMs = await closedLoopSpins(ledger, players, durationMs, spin);
  return { writes: latenciesMs.length, latenciesMs };
}

/**
 * Writes fall due every 1/rate s. A due write goes to an idle player (one write in flight each);
 * with none idle it waits, and its latency still counts from when it fell due.
 */
async function openLoop(ledger: EmbeddedLedger, players: string[], ratePerSecond: number) {
  const latenciesMs: number[] = [];
  const idle = players.map((_, index) => index);
  const seqs = players.map(() => 1);
  const waitingSinceMs: number[] = [];
  let waitingHead = 0;
  let due = 0;
  const dueTotal = Math.floor((ratePerSecond * durationMs) / 1_000);
  const startedMs = performance.now();
  const finished = Promise.withResolvers<void>();

  function issue(player: number, dueMs: number): void {
    const seq = (seqs[player] ?? 1) + 1;
    seqs[player] = seq;
    ledger.write(spin(players[player] ?? "", seq)).then((outcome) => {
      if (outcome.status !== "committed") throw new Error(`${player} ${seq}: ${outcome.status}`);
      latenciesMs.push(performance.now() - dueMs);
      if (latenciesMs.length === dueTotal) finished.resolve();
      if (waitingHead < waitingSinceMs.length) issue(player, waitingSinceMs[waitingHead++] ?? 0);
      else idle.push(player);
    }, finished.reject);
  }

  const clock = setInterval(() => {
    const dueNow = Math.min(
      dueTotal,
      Math.floor(((performance.now() - startedMs) * ratePerSecond) / 1_000),
    );
    for (; due < dueNow; due++) {
      const dueMs = startedMs + (due * 1_000) / ratePerSecond;
      const player = idle.pop();
      if (player === undefined) waitingSinceMs.push(dueMs);
      else issue(player, dueMs);
    }
    if (due === dueTotal) clearInterval(clock);
  }, 1);
  await finished.promise;
  return { writes: latenciesMs.length, latenciesMs };
}

type Binding = string | number | null;

/** Baseline: the same rows inserted with batched multi-row INSERTs, no checks, one thread. */
function benchRawInserts(dataDir: string, writesTotal: number, playersCount: number) {
  mkdirSync(dataDir, { recursive: true });
  const db = openWriterDatabase(ledgerPath(dataDir), {
    busyTimeoutMs: embeddedLedgerDefaults.busyTimeoutMs,
    cacheKiB: embeddedLedgerDefaults.writerCacheKiB,
    walAutocheckpointPages: embeddedLedgerDefaults.walAutocheckpointPages,
  });
  const spinsPerStatement = 30; // 330 bound values per journal statement
  const seqs = new Array<number>(playersCount).fill(1);
  const statements: { journal: Binding[]; postings: Binding[]; players: Binding[] }[][] = [];
  for (let done = 0, journalId = 1; done < writesTotal; ) {
    const batch = [];
    const batchSize = Math.min(config.groupCommitWritesMax, writesTotal - done);
    for (let offset = 0; offset < batchSize; offset += spinsPerStatement) {
      const rows = {
        journal: [] as Binding[],
        postings: [] as Binding[],
        players: [] as Binding[],
      };
      for (let i = 0; i < Math.min(spinsPerStatement, batchSize - offset); i++, journalId++) {
        const player = (done + offset + i) % playersCount;
        const seq = (seqs[player] ?? 1) + 1;
        seqs[player] = seq;
        const write = spin(`player${player}`, seq);
        const { round } = write;
        rows.journal.push(journalId, write.playerId, seq, write.commandId, write.requestHash);
        rows.journal.push(write.reply, null, Date.now(), round?.roundId ?? null, "slot");
        rows.journal.push(round?.detail ?? null);
        write.postings.forEach((posting, n) => {
          const own = posting.account.startsWith("player:");
          rows.postings.push(journalId, n, posting.account, own ? (posting.kind ?? null) : null);
          rows.postings.push(posting.amount, own ? startingBalance : null);
        });
        rows.players.push(write.playerId, startingBalance, seq);
      }
      batch.push(rows);
    }
    statements.push(batch);
    done += batchSize;
  }
  const upsert =
    " ON CONFLICT (player_id) DO UPDATE SET balance = excluded.balance, seq = excluded.seq";
  const values = (columns: number, bindings: number) =>
    Array(bindings / columns)
      .fill(`(${Array(columns).fill("?").join(",")})`)
      .join(",");
  // db.query caches statements by text: chunks of the same shape reuse one.
  const insert = (sql: string, bindings: Binding[], columns: number, target: Database) =>
    target
      .query(
        `${sql} VALUES ${values(columns, bindings.length)}${sql.includes("players") ? upsert : ""}`,
      )
      .run(...bindings);
  const startedMs = performance.now();
  for (const batch of statements) {
    db.run("BEGIN IMMEDIATE");
    for (const rows of batch) {
      insert(
        "INSERT INTO journal (id, player_id, seq, command_id, request_hash, reply, event, at, round_id, game, round_detail)",
        rows.journal,
        11,
        db,
      );
      insert(
        "INSERT INTO postings (journal_id, n, account, kind, amount, balance_after)",
        rows.postings,
        6,
        db,
      );
      insert("INSERT INTO players (player_id, balance, seq)", rows.players, 3, db);
    }
    db.run("COMMIT");
  }
  const elapsedMs = performance.now() - startedMs;
  db.close();
  console.log(
    `  raw multi-row INSERTs of ${writesTotal} such rows, no checks (prebuilt, one thread):` +
      ` ${Math.round(writesTotal / (elapsedMs / 1_000))} writes/s`,
  );
}

const root = await mkdtemp(join(tmpdir(), "croupier-bench-ledger-"));
try {
  console.log(
    `ledger writes: ${durationMs / 1_000} s per run, ${randomRoundIds ? "random" : "time-ordered"} round ids,` +
      ` group commit ${config.groupCommitWindowMs} ms / ${config.groupCommitWritesMax} writes`,
  );
  let peakRate = 0;
  for (const count of [200, 1_000]) {
    const players = playerIds(count);
    const rate = await measured(
      join(root, `closed${count}`),
      `closed loop, ${count} players`,
      players,
      (ledger) => closedLoop(ledger, players),
    );
    peakRate = Math.max(peakRate, rate);
  }
  const rate = openLoopRate > 0 ? openLoopRate : Math.round(peakRate / 2);
  const players = playerIds(openLoopPlayers);
  await measured(
    join(root, "open"),
    `open loop at ${rate} writes/s (${openLoopRate > 0 ? "LEDGER_BENCH_RATE" : "half the peak"}), ${openLoopPlayers} players`,
    players,
    (ledger) => openLoop(ledger, players, rate),
  );
  if (process.env.LEDGER_BENCH_RAW === "1") {
    benchRawInserts(join(root, "raw"), Math.round(peakRate * (durationMs / 1_000)), 1_000);
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
