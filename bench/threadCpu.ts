/**
 * Where each spin's CPU goes: per-thread CPU time of the node (main thread, ledger writer,
 * checkpointer, GC and JIT helpers) and of this load generator, divided by the spins of a closed
 * loop, read from /proc (Linux). Percentages show how busy each thread was: on a 2-core machine
 * their sum against 200% says how much of the machine the closed loop leaves idle.
 *
 *   bun bench/threadCpu.ts                     # the node, 200 clients, 6 s
 *   THREAD_CPU_TARGET=echo bun bench/threadCpu.ts      # the bare echo server instead
 *   THREAD_CPU_TARGET=instant bun bench/threadCpu.ts   # the node on bench/instantLedger.ts:
 *                                                      # gateway, actors and game without storage
 *   BENCH_CLIENTS=500 CROUPIER_NODE_LEDGER_GROUP_COMMIT_WRITES_MAX=64 bun bench/threadCpu.ts
 *
 * Variables named CROUPIER_NODE_<KEY> are passed to the node as <KEY>.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { spawnNode } from "../src/testing/nodeProcess.ts";
import { closedLoop, devSocketUrls, openSockets, spinPhases, startBenchServer } from "./driver.ts";

const clients = Number(process.env.BENCH_CLIENTS ?? 200);
const phaseMs = Number(process.env.BENCH_SECONDS ?? 6) * 1000;
const target = process.env.THREAD_CPU_TARGET ?? "node";
const clockTicksPerSecond = 100;
const nodeEnvPrefix = "CROUPIER_NODE_";

interface ThreadSample {
  name: string;
  cpuTicks: number;
  voluntarySwitches: number;
}

/** CPU ticks (user + system) and voluntary context switches of every thread of `pid`. */
function sampleThreads(pid: number): Map<string, ThreadSample> {
  const samples = new Map<string, ThreadSample>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = /\(([^)]*)\)/.exec(stat)?.[1] ?? "?";
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
      samples.set(tid, {
        name,
        cpuTicks: Number(fields[11]) + Number(fields[12]),
        voluntarySwitches: Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0),
      });
    } catch {
      // The thread ended between listing and reading.
    }
  }
  return samples;
}

function report(
  label: string,
  before: Map<string, ThreadSample>,
  after: Map<string, ThreadSample>,
  spins: number,
  elapsedMs: number,
): void {
  let totalTicks = 0;
  for (const [tid, sample] of after) {
    const ticks = sample.cpuTicks - (before.get(tid)?.cpuTicks ?? 0);
    if (ticks === 0) continue;
    totalTicks += ticks;
    const seconds = ticks / clockTicksPerSecond;
    const switches = sample.voluntarySwitches - (before.get(tid)?.voluntarySwitches ?? 0);
    console.log(
      `  ${label} ${sample.name} (${tid}): ${((seconds * 1e6) / spins).toFixed(1)} us/spin, ` +
        `${((seconds * 1e5) / elapsedMs).toFixed(0)}% of a core, ${(switches / spins).toFixed(3)} switches/spin`,
    );
  }
  console.log(
    `  ${label} total: ${(((totalTicks / clockTicksPerSecond) * 1e6) / spins).toFixed(1)} us/spin`,
  );
}

async function startEcho(): Promise<{ process: Subprocess; urls: string[] }> {
  const { process: child, url } = await startBenchServer("./echoServer.ts");
  return { process: child, urls: Array.from({ length: clients }, () => url) };
}

async function startCroupierNode(
  dataDir: string,
): Promise<{ process: Subprocess; urls: string[] }> {
  const extraEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith(nodeEnvPrefix) && value !== undefined)
      extraEnv[key.slice(nodeEnvPrefix.length)] = value;
  }
  const entry =
    target === "instant" ? new URL("./instantNode.ts", import.meta.url).pathname : undefined;
  const node = await spawnNode(
    {
      DATA_DIR: dataDir,
      DEV_STARTING_BALANCE: String(1_000_000_000_000),
      ASK_TIMEOUT_MS: "30000",
      ...extraEnv,
    },
    15_000,
    entry,
  );
  return { process: node.process, urls: await devSocketUrls(node.httpUrl, clients, "cpu-") };
}

const dataDir = mkdtempSync(join(tmpdir(), "croupier-thread-cpu-"));
const server = target === "echo" ? await startEcho() : await startCroupierNode(dataDir);
try {
  const sockets = await openSockets(server.urls, target !== "echo");
  const spinFrames = spinPhases("c", 20);
  await closedLoop(sockets, spinFrames(), 1_500); // warm-up: activations, JIT
  const serverBefore = sampleThreads(server.process.pid);
  const selfBefore = sampleThreads(process.pid);
  const result = await closedLoop(sockets, spinFrames(), phaseMs);
  const serverAfter = sampleThreads(server.process.pid);
  const selfAfter = sampleThreads(process.pid);
  const perSecond = (result.completed / result.elapsedMs) * 1000;
  console.log(
    `${target}, ${clients} clients, closed loop: ${perSecond.toFixed(0)} round trips/s, ${result.errors} errors`,
  );
  report(target, serverBefore, serverAfter, result.completed, result.elapsedMs);
  report("load generator", selfBefore, selfAfter, result.completed, result.elapsedMs);
  for (const socket of sockets) socket.close();
} finally {
  server.process.kill("SIGTERM");
  await server.process.exited;
  rmSync(dataDir, { recursive: true, force: true });
}
