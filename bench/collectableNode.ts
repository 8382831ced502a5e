/**
 * The node's own entry point, with one addition for memory benches: on SIGUSR2 it runs a full
 * garbage collection, then writes `{"collections","heapUsedBytes","rssBytes"}` to the file named
 * by COLLECTION_REPORT_FILE, so that a bench samples memory after the garbage of a burst is gone.
 */
import { writeFileSync } from "node:fs";

const reportFile = process.env.COLLECTION_REPORT_FILE;
if (reportFile === undefined) throw new Error("COLLECTION_REPORT_FILE is not set");
let collections = 0;
process.on("SIGUSR2", () => {
  Bun.gc(true);
  collections += 1;
  const { heapUsed, rss } = process.memoryUsage();
  writeFileSync(
    reportFile,
    JSON.stringify({ collections, heapUsedBytes: heapUsed, rssBytes: rss }),
  );
});
await import("../src/main.ts");
