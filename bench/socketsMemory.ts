/**
 * Memory of idle authenticated sockets: a node's resident set before and after N clients
 * connect, with sessions created first so only the sockets are counted.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnNode } from "../src/testing/nodeProcess.ts";
import { devSocketUrls, openSockets } from "./driver.ts";

function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (kib === undefined) throw new Error("no VmRSS");
  return Number(kib) * 1024;
}

export async function measureIdleSockets(count: number): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "croupier-sockets-"));
  const node = await spawnNode({ DATA_DIR: dataDir });
  try {
    const urls = await devSocketUrls(node.httpUrl, count, "idle-");
    const before = residentBytes(node.process.pid);
    const sockets = await openSockets(urls, true, 60_000);
    const after = residentBytes(node.process.pid);
    const perSocket = (after - before) / count;
    console.log(
      `idle sockets: ${count} authenticated sockets, node RSS ${(before / 2 ** 20).toFixed(1)} MiB -> ${(after / 2 ** 20).toFixed(1)} MiB, ` +
        `${(perSocket / 1024).toFixed(1)} KiB per socket (the sockets alone: sessions and their active players exist before the first sample; RSS without a collection first, so +-2 KiB between runs)`,
    );
    for (const socket of sockets) socket.close();
  } finally {
    node.process.kill("SIGTERM");
    await node.process.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.main) await measureIdleSockets(Number(process.env.BENCH_IDLE_SOCKETS ?? 10_000));
