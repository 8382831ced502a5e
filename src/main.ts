import { ConfigError, checkDataDir, loadConfig } from "../config/load.ts";
import { startNode } from "./node.ts";

/** Entry point: validate config (refuse to start on a bad value), start the node, drain on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
    checkDataDir(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`croupier: refusing to start: ${error.message}`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  if (config.operatorKey === undefined) {
    console.warn(
      `croupier: dev mode (no OPERATOR_KEY): anyone may open a session and new players get ${config.startingBalance} minor units; bound to ${config.host}`,
    );
  }
  let node: Awaited<ReturnType<typeof startNode>>;
  try {
    node = await startNode(config);
  } catch (error) {
    // What stops a start is said in one line, as a bad config value is (no stack trace).
    const failure = error as { code?: unknown; configKey?: string; configPort?: number };
    if (failure.code === "EADDRINUSE") {
      const key = failure.configKey ?? "PORT";
      const port = failure.configPort ?? config.port;
      console.error(`croupier: refusing to start: config ${key}: ${port} is already in use`);
      process.exit(78); // EX_CONFIG
    }
    console.error(`croupier: could not start: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
  // One parseable line, so scripts and tests can find the port when PORT=0.
  console.log(
    `croupier: node ${config.nodeId} listening on ${node.httpUrl} (bound to ${config.host}; ${node.describe})`,
  );
  let stopping = false;
  const drain = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`croupier: ${signal}: draining`);
    await node.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => void drain("SIGTERM"));
  process.on("SIGINT", () => void drain("SIGINT"));
}

await main();
