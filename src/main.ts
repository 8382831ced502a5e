import { ConfigError, checkDataDir, environmentKeys, loadConfig } from "../config/load.ts";
import { misspelledKeys } from "../config/misspelled.ts";
import { JsonLogger } from "./log.ts";
import { startNode } from "./node.ts";
import { reportUnhandledRejections } from "./unhandledRejections.ts";

/** Exit status of a start refused for its configuration (sysexits.h EX_CONFIG). */
const exitConfig = 78;

/** A stop signal this long after the first ends a drain at once (DRAIN_TIMEOUT_MS bounds it anyway). */
const repeatedSignalGapMs = 1_000;

function refuse(reason: string): never {
  console.error(`croupier: refusing to start: ${reason}`);
  process.exit(exitConfig);
}

/**
 * What stopped a start that the config can fix, said with the key to change, or undefined when
 * the failure is of another kind.
 */
function configCauseOf(error: unknown, config: ReturnType<typeof loadConfig>): string | undefined {
  const failure = error as { code?: unknown; configKey?: string; configPort?: number };
  if (failure.code === "EADDRINUSE") {
    const key = failure.configKey ?? "PORT";
    return `config ${key}: ${failure.configPort ?? config.port} is already in use`;
  }
  if (failure.code === "EADDRNOTAVAIL")
    return `config HOST: ${config.host} is not an address of this machine`;
  if (failure.code === "LEDGER_LOCKED")
    return `config DATA_DIR: ${config.dataDir} is in use by another node (${(error as Error).message})`;
  return undefined;
}

/** Entry point: validate config (refuse to start on a bad value), start the node, drain on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  // Installed first: as a container's PID 1 the process gets no default action for SIGTERM, so a
  // stop during start-up would otherwise wait for the SIGKILL. Nothing is served yet: just exit.
  let onStopSignal = (signal: string): void => {
    console.error(`croupier: ${signal} before the node started: exiting`);
    process.exit(1);
  };
  process.on("SIGTERM", () => onStopSignal("SIGTERM"));
  process.on("SIGINT", () => onStopSignal("SIGINT"));
  // First: a misspelt key may be why the config below is refused (or why dev mode starts).
  for (const { key, meant } of misspelledKeys(process.env, environmentKeys))
    console.warn(`croupier: ${key} is not a config key and is ignored; did you mean ${meant}?`);
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
    checkDataDir(config);
  } catch (error) {
    if (error instanceof ConfigError) refuse(error.message);
    throw error;
  }
  if (config.operatorKey === undefined) {
    console.warn(
      `croupier: dev mode (no OPERATOR_KEY): anyone may open a session and new players get ${config.startingBalance} minor units; bound to ${config.host}`,
    );
  }
  const log = new JsonLogger(config.nodeId);
  reportUnhandledRejections(log);
  let node: Awaited<ReturnType<typeof startNode>>;
  try {
    node = await startNode(config, { log });
  } catch (error) {
    // What stops a start is said in one line, as a bad config value is (no stack trace).
    const cause = configCauseOf(error, config);
    if (cause !== undefined) refuse(cause);
    console.error(`croupier: could not start: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
  const metrics = node.metricsUrl === undefined ? "" : `; metrics on ${node.metricsUrl}/metrics`;
  // One parseable line, so scripts and tests can find the port when PORT=0.
  console.log(
    `croupier: node ${config.nodeId} listening on ${node.httpUrl} (bound to ${config.host}; ${node.describe}${metrics})`,
  );
  let drainingSinceMs: number | undefined;
  const drain = async (signal: string) => {
    if (drainingSinceMs !== undefined) {
      // The same Ctrl-C often arrives twice (from the terminal and forwarded by npm): only a
      // signal well after the first says the operator will not wait for the drain.
      if (performance.now() - drainingSinceMs < repeatedSignalGapMs) return;
      console.error(`croupier: ${signal} again while draining: exiting now`);
      process.exit(1);
    }
    drainingSinceMs = performance.now();
    console.log(`croupier: ${signal}: draining`);
    await node.stop();
    log.close();
    console.log("croupier: drained; exiting");
    process.exit(0);
  };
  onStopSignal = (signal) => void drain(signal);
}

await main();
