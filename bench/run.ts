/**
 * `npm run bench`: spins/s and latency of a real node with the embedded ledger, against a bare
 * Bun WebSocket echo server driven by the same clients in the same run, then the audit, then the
 * memory of idle actors and idle sockets.
 *
 * The closed loops of echo and spins alternate in three slices each (echo, spins, echo, ...), so
 * that the machine drifting between minutes (it does, on shared hosts) moves both sides of the
 * ratio alike; the ratio of each slice pair is printed too.
 *
 * Options (environment): BENCH_CLIENTS (default 1000), BENCH_SECONDS (default 10: the closed loop
 * of each side in all, and the open loop),
 * BENCH_IDLE_SOCKETS (default 10000), BENCH_IDLE_ACTORS (default 100000),
 * BENCH_PARTS (default "embedded,postgres,memory": the parts to run, e.g. "embedded" alone while
 * working on the spin path).
 */
import { mkdtempSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAuditCli } from "../src/testing/auditRun.ts";
import { spawnNode } from "../src/testing/nodeProcess.ts";
import { createTestDatabase } from "../src/testing/postgresTestDb.ts";
import {
  closedLoop,
  devSocketUrls,
  emptyResult,
  openLoop,
  openSockets,
  type RunResult,
  spinPhases,
  startBenchServer,
} from "./driver.ts";
import { measureIdleSockets } from "./socketsMemory.ts";
import { formatLatency, summarize } from "./stats.ts";

/**
 * A thousand clients keep both sides busy. With a few hundred, a closed loop of durable spins is
 * paced by each spin's wait for its group commit's fsync rather than by the node's CPU, while the
 * echo server is not (bench/RESULTS.md has both).
 */
const clients = Number(process.env.BENCH_CLIENTS ?? 1000);
const phaseMs = Number(process.env.BENCH_SECONDS ?? 10) * 1000;
const idleSockets = Number(process.env.BENCH_IDLE_SOCKETS ?? 10_000);
const benchParts = ["embedded", "postgres", "memory"] as const;
const parts = new Set((process.env.BENCH_PARTS ?? benchParts.join(",")).split(","));
for (const part of parts) {
  if (!(benchParts as readonly string[]).includes(part)) {
    throw new Error(`BENCH_PARTS: unknown part "${part}" (known: ${benchParts.join(", ")})`);
  }
}
const bet = 20;

function report(label: string, result: RunResult): number {
  const perSecond = (result.completed / result.elapsedMs) * 1000;
  const errors =
    result.errors === 0
      ? "0 errors"
      : `${result.errors} errors ${JSON.stringify(result.errorCodes)}`;
  console.log(
    `${label}: ${perSecond.toFixed(0)}/s, ${errors}, ${formatLatency(summarize(result.latenciesMs))}`,
  );
  return perSecond;
}

/** Phases of the closed loop: echo and spins alternate, so a drift of the machine hits both. */
const alternations = 3;

/** The bare echo server and its sockets, kept open for the whole bench. */
interface EchoBaseline {
  /** A closed loop of `durationMs` against the echo server. */
  run(durationMs: number): Promise<RunResult>;
  stop(): Promise<void>;
}

async function startEchoBaseline(): Promise<EchoBaseline> {
  const { process: child, url } = await startBenchServer("./echoServer.ts");
  const sockets = await openSockets(
    Array.from({ length: clients }, () => url),
    false,
  );
  const frameFor = spinPhases("e", bet);
  await closedLoop(sockets, frameFor(), 1_000); // warm-up
  return {
    run: (durationMs) => closedLoop(sockets, frameFor(), durationMs),
    async stop() {
      for (const socket of sockets) socket.close();
      child.kill();
      await child.exited;
    },
  };
}

/** Results of several phases as one. */
function pooled(results: readonly RunResult[]): RunResult {
  const all = emptyResult();
  for (const result of results) {
    all.completed += result.completed;
    all.replyChars += result.replyChars;
    all.errors += result.errors;
    all.elapsedMs += result.elapsedMs;
    for (const [code, count] of Object.entries(result.errorCodes))
      all.errorCodes[code] = (all.errorCodes[code] ?? 0) + count;
    for (const sample of result.latenciesMs) all.latenciesMs.push(sample);
  }
  return all;
}

/**
 * The file system under the ledger: on a tmpfs an fsync costs nothing, and synchronous=FULL in the
 * banner would not mean what it says.
 */
function fileSystemOf(path: string): string {
  const names: Record<number, string> = {
    61267: "ext2/3/4",
    16914836: "tmpfs (fsync costs nothing: not a durable measurement)",
    1481003842: "xfs",
    2435016766: "btrfs",
    2035054128: "overlayfs",
  };
  const type = statfsSync(path).type;
  return names[type] ?? `file system type 0x${type.toString(16)}`;
}

async function croupierRun(echo: EchoBaseline, databaseUrl?: string): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "croupier-bench-"));
  const node = await spawnNode({
    ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl }),
    DATA_DIR: dataDir,
    DEV_STARTING_BALANCE: String(1_000_000_000_000),
    ASK_TIMEOUT_MS: "30000",
  });
  console.log(`node: ${node.banner}`);
  if (databaseUrl === undefined) console.log(`data dir: ${dataDir} on ${fileSystemOf(dataDir)}`);
  try {
    const sockets = await openSockets(await devSocketUrls(node.httpUrl, clients, "bench-"), true);
    const spinFrames = spinPhases("s", bet);
    await closedLoop(sockets, spinFrames(), 1_000); // warm-up: activations, JIT
    const echoRuns: RunResult[] = [];
    const spinRuns: RunResult[] = [];
    const phaseSliceMs = phaseMs / alternations;
    for (let round = 0; round < alternations; round++) {
      echoRuns.push(await echo.run(phaseSliceMs));
      spinRuns.push(await closedLoop(sockets, spinFrames(), phaseSliceMs));
    }
    const echoPerSecond = report(
      `echo baseline, closed loop, ${clients} clients`,
      pooled(echoRuns),
    );
    const spinsPerSecond = report(
      `croupier spins, closed loop, ${clients} clients`,
      pooled(spinRuns),
    );
    const perRound = spinRuns.map((spins, i) => {
      const echoRun = echoRuns[i] as RunResult;
      return (spins.completed / spins.elapsedMs / (echoRun.completed / echoRun.elapsedMs)).toFixed(
        3,
      );
    });
    console.log(
      `ratio spins/s : echo round trips/s = ${(spinsPerSecond / echoPerSecond).toFixed(3)} ` +
        `(${alternations} alternating phases of ${(phaseSliceMs / 1000).toFixed(1)} s each: ${perRound.join(", ")})`,
    );
    // The same request frames go to both; the answers differ in size (an echo of the frame,
    // against a spin's result with its reels and wins), which costs the spin side more.
    const meanChars = (runs: RunResult[]) => {
      const all = pooled(runs);
      return Math.round(all.replyChars / Math.max(1, all.completed + all.errors));
    };
    console.log(
      `mean answer: echo ${meanChars(echoRuns)} characters, spin ${meanChars(spinRuns)} characters`,
    );
    const halfRate = Math.max(1, Math.floor(spinsPerSecond / 2));
    const open = await openLoop(sockets, spinFrames(), halfRate, phaseMs);
    report(`croupier spins, open loop at ${halfRate}/s (half the closed-loop peak)`, open);
    for (const socket of sockets) socket.close();
  } finally {
    node.process.kill("SIGTERM");
    await node.process.exited;
  }
  const audit = runAuditCli({ dataDir, ...(databaseUrl === undefined ? {} : { databaseUrl }) });
  console.log(`audit (exit ${audit.exit}):\n${audit.report}`);
  rmSync(dataDir, { recursive: true, force: true });
  if (audit.exit !== 0) process.exitCode = 1;
}

/**
 * The same spins with the ledger in Postgres (a fresh database from DATABASE_TEST_URL, or a
 * throwaway server), then the Postgres baselines of the same run: raw batched inserts of a spin's rows, and
 * one transaction per spin. Skipped with a reason when no Postgres answers.
 */
async function postgresRun(echo: EchoBaseline): Promise<void> {
  const availability = await createTestDatabase();
  if (availability.database === undefined) {
    console.log(`\n-- postgres ledger: skipped: ${availability.skipReason}`);
    return;
  }
  const { database } = availability;
  try {
    console.log(`\n-- postgres ledger (database ${database.name}) --`);
    await croupierRun(echo, database.url);
  } finally {
    await database.drop();
  }
  runBenchScript("./postgresWrites.ts", { PG_BENCH_PLAYERS: String(clients) });
}

console.log(
  `bench: ${clients} clients, ${phaseMs / 1000} s per phase, ${navigator.hardwareConcurrency} cores, bun ${Bun.version}`,
);
const echo = await startEchoBaseline();
try {
  if (parts.has("embedded")) {
    console.log("\n-- embedded ledger --");
    await croupierRun(echo);
  }
  if (parts.has("postgres")) await postgresRun(echo);
} finally {
  await echo.stop();
}
if (parts.has("memory")) await measureMemory();

async function measureMemory(): Promise<void> {
  await measureIdleSockets(idleSockets);
  runBenchScript("./actorsMemory.ts");
  runBenchScript("./playerActorsMemory.ts");
}

/** Runs another bench script in a process of its own, its output inline; a failure fails the bench. */
function runBenchScript(script: string, env: Record<string, string> = {}): void {
  const child = Bun.spawnSync([process.execPath, new URL(script, import.meta.url).pathname], {
    env: { ...process.env, ...env },
    stdout: "inherit",
    stderr: "inherit",
  });
  if (child.exitCode !== 0) process.exitCode = 1;
}
