/**
 * Memory of idle authenticated sockets: the node's heap and resident set before and after N
 * clients connect, each sampled after a full collection in the node (bench/collectableNode.ts),
 * with sessions created first so that only the sockets are counted.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnNode } from "../src/testing/nodeProcess.ts";
import { waitFor } from "../src/testing/waitFor.ts";
import { devSocketUrls, openSockets } from "./driver.ts";

const collectableNodePath = join(import.meta.dir, "collectableNode.ts");

interface CollectionReport {
  collections: number;
  heapUsedBytes: number;
  rssBytes: number;
}

/** Has the node collect its garbage and answers what it then holds. */
async function collected(pid: number, reportFile: string, n: number): Promise<CollectionReport> {
  process.kill(pid, "SIGUSR2");
  let report: CollectionReport | undefined;
  await waitFor(
    () => {
      if (!existsSync(reportFile)) return false;
      const read = JSON.parse(readFileSync(reportFile, "utf8")) as CollectionReport;
      if (read.collections < n) return false;
      report = read;
      return true;
    },
    30_000,
    "the node's collection",
  );
  return report as CollectionReport;
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const kibEach = (bytes: number, count: number) => (bytes / count / 1024).toFixed(1);

export async function measureIdleSockets(count: number): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "croupier-sockets-"));
  const reportFile = join(dataDir, "collection.json");
  const node = await spawnNode(
    { DATA_DIR: dataDir, COLLECTION_REPORT_FILE: reportFile },
    15_000,
    collectableNodePath,
  );
  try {
    const urls = await devSocketUrls(node.httpUrl, count, "idle-");
    const before = await collected(node.process.pid, reportFile, 1);
    const sockets = await openSockets(urls, true, 60_000);
    const after = await collected(node.process.pid, reportFile, 2);
    console.log(
      `idle sockets: ${count} authenticated sockets, after a full collection each time: ` +
        `heap ${mib(before.heapUsedBytes)} -> ${mib(after.heapUsedBytes)} MiB ` +
        `(${kibEach(after.heapUsedBytes - before.heapUsedBytes, count)} KiB per socket), ` +
        `RSS ${mib(before.rssBytes)} -> ${mib(after.rssBytes)} MiB ` +
        `(${kibEach(after.rssBytes - before.rssBytes, count)} KiB per socket; the allocator keeps pages it freed); ` +
        "the sockets alone: sessions and their active players exist before the first sample",
    );
    for (const socket of sockets) socket.close();
  } finally {
    node.process.kill("SIGTERM");
    await node.process.exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.main) await measureIdleSockets(Number(process.env.BENCH_IDLE_SOCKETS ?? 10_000));
