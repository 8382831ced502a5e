import type { Subprocess } from "bun";
import { environmentKeys } from "../../config/load.ts";
import { settleWithin } from "../deadline.ts";

/** Rate limits raised far beyond any test or bench load; suites that test limits set their own. */
export const generousLimitEnv: Record<string, string> = {
  RATE_COMMANDS_PER_SECOND: "1000000",
  RATE_COMMAND_BURST: "1000000",
  RATE_UPGRADES_PER_SECOND_PER_IP: "1000000",
  RATE_UPGRADE_BURST_PER_IP: "1000000",
  RATE_SESSIONS_PER_SECOND_PER_IP: "1000000",
  RATE_SESSION_BURST_PER_IP: "1000000",
  RATE_READS_PER_SECOND_PER_IP: "1000000",
  RATE_READ_BURST_PER_IP: "1000000",
  // Every test and bench client connects from loopback.
  SOCKETS_PER_ADDRESS_MAX: "1000000",
};

const mainPath = new URL("../main.ts", import.meta.url).pathname;

export interface NodeProcess {
  process: Subprocess<"ignore", "pipe", "pipe">;
  httpUrl: string;
  wsUrl: string;
  port: number;
  /** The node's "listening on" line, which also names the ledger's durability settings. */
  banner: string;
  /**
   * The last `stderrTailChars` characters the node wrote to stderr since it started listening;
   * after the process exited, up to its very end (waits up to `timeoutMs` for the pipe to drain).
   */
  stderrTail(timeoutMs?: number): Promise<string>;
}

/** Stderr kept per node process (older output is dropped: a chatty node must not grow it). */
const stderrTailChars = 64 * 1024;

/** Children still running; killed when this process exits, so a failed test leaves no node behind. */
const running = new Set<Subprocess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * The environment a child node starts from: this process's, without any of the node's own keys
 * (a developer's exported DATABASE_URL or OPERATOR_KEY must not reach a test's node).
 */
function inheritedEnv(): Record<string, string | undefined> {
  const nodeKeys = new Set(environmentKeys);
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !nodeKeys.has(key)));
}

/**
 * Starts `bun src/main.ts` (or another entry that prints the same banner) as a real child process
 * and waits for its "listening on" line. The child gets none of the node's configuration from
 * this process's environment, only `env` (a variable given as undefined is left out).
 */
export async function spawnNode(
  env: Record<string, string | undefined>,
  timeoutMs = 15_000,
  entryPath = mainPath,
): Promise<NodeProcess> {
  const childEnv: Record<string, string | undefined> = {
    ...inheritedEnv(),
    PORT: "0",
    HOST: "127.0.0.1",
    ...generousLimitEnv,
    ...env,
  };
  for (const [key, value] of Object.entries(childEnv))
    if (value === undefined) delete childEnv[key];
  const child = Bun.spawn([process.execPath, entryPath], {
    env: childEnv,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  running.add(child);
  void child.exited.then(() => running.delete(child));
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let output = "";
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    output += decoder.decode(value);
    const match = /listening on (http:\/\/[\d.]+:(\d+))/.exec(output);
    if (match) {
      reader.releaseLock();
      // Both pipes are drained from now on, so the child never blocks on a full one.
      void child.stdout.pipeTo(new WritableStream());
      let stderr = "";
      const stderrDecoder = new TextDecoder();
      const keep = (text: string) => {
        stderr = (stderr + text).slice(-stderrTailChars);
      };
      const stderrDrained = child.stderr
        .pipeTo(
          new WritableStream({
            write: (chunk) => keep(stderrDecoder.decode(chunk, { stream: true })),
            close: () => keep(stderrDecoder.decode()),
          }),
        )
        .catch(() => undefined);
      const httpUrl = match[1] as string;
      const banner = output.split("\n").find((line) => line.includes("listening on")) ?? "";
      return {
        process: child,
        httpUrl,
        wsUrl: httpUrl.replace("http", "ws"),
        port: Number(match[2]),
        banner,
        async stderrTail(timeoutMs = 2_000) {
          // A process that exited may still have output in the pipe: wait for its end, bounded.
          if (child.exitCode !== null || child.signalCode !== null)
            await settleWithin(stderrDrained, timeoutMs);
          return stderr;
        },
      };
    }
  }
  child.kill(9);
  throw new Error(`node did not start: ${output} ${await new Response(child.stderr).text()}`);
}
