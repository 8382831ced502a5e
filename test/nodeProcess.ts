import type { Subprocess } from "bun";
import { generousLimits } from "./harness.ts";

const envNameByKey: Record<string, string> = {
  commandsPerSecond: "RATE_COMMANDS_PER_SECOND",
  commandBurst: "RATE_COMMAND_BURST",
  upgradesPerSecondPerIp: "RATE_UPGRADES_PER_SECOND_PER_IP",
  upgradeBurstPerIp: "RATE_UPGRADE_BURST_PER_IP",
  sessionsPerSecondPerIp: "RATE_SESSIONS_PER_SECOND_PER_IP",
  sessionBurstPerIp: "RATE_SESSION_BURST_PER_IP",
};

export interface NodeProcess {
  process: Subprocess<"ignore", "pipe", "pipe">;
  httpUrl: string;
  wsUrl: string;
  port: number;
}

/** Starts `bun src/main.ts` as a real child process and waits for its "listening on" line. */
export async function spawnNode(env: Record<string, string>, timeoutMs = 15_000): Promise<NodeProcess> {
  const limitEnv = Object.fromEntries(Object.entries(generousLimits).map(([key, value]) => [envNameByKey[key] as string, String(value)]));
  const child = Bun.spawn([process.execPath, "src/main.ts"], {
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", ...limitEnv, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
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
      void child.stdout.pipeTo(new WritableStream()); // keep draining so the child never blocks on a full pipe
      const httpUrl = match[1] as string;
      return { process: child, httpUrl, wsUrl: httpUrl.replace("http", "ws"), port: Number(match[2]) };
    }
  }
  child.kill(9);
  throw new Error(`node did not start: ${output} ${await new Response(child.stderr).text()}`);
}
