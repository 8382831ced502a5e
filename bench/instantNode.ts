/**
 * A node whose ledger is bench/instantLedger.ts: for `THREAD_CPU_TARGET=instant bun
 * bench/threadCpu.ts`, which measures the gateway, actors and game without the cost of storage.
 * Same configuration and banner as src/main.ts.
 */
import { loadConfig } from "../config/load.ts";
import { startNode } from "../src/node.ts";
import { InstantLedger } from "./instantLedger.ts";

const config = loadConfig(process.env);
const node = await startNode(config, { ledger: new InstantLedger() });
console.log(`croupier: node ${config.nodeId} listening on ${node.httpUrl} (${node.describe})`);
process.on("SIGTERM", () => {
  void node.stop().then(() => process.exit(0));
});
