import { afterAll, describe, expect, test } from "bun:test";
import { freshDataDir, removeDataDirs } from "../src/store/embedded/testing/tempLedger.ts";
import { spawnNode } from "../src/testing/nodeProcess.ts";
import { waitFor } from "../src/testing/waitFor.ts";

/** What a node that cannot start says: one line naming the cause and an exit code, no stack trace. */

const mainPath = new URL("../src/main.ts", import.meta.url).pathname;
afterAll(removeDataDirs);

/** Runs a node that is expected to stop by itself; its exit code and stderr. */
async function failedStart(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const child = Bun.spawn([process.execPath, mainPath], {
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const stderr = await new Response(child.stderr).text();
  return { code: await child.exited, stderr };
}

describe("startup", () => {
  test("startup - a test's node takes none of the node's keys from the shell that runs the tests", async () => {
    const exported = process.env.OPERATOR_KEY;
    process.env.OPERATOR_KEY = "exported-in-the-developer-shell-0123";
    try {
      const node = await spawnNode({ DATA_DIR: await freshDataDir() });
      try {
        // Dev mode, as the test asked for by not naming a key: a session needs no operator key.
        const session = await fetch(`${node.httpUrl}/v1/sessions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ playerId: "shell-test" }),
        });
        expect(session.status).toBe(201);
      } finally {
        node.process.kill("SIGTERM");
        await node.process.exited;
      }
    } finally {
      if (exported === undefined) delete process.env.OPERATOR_KEY;
      else process.env.OPERATOR_KEY = exported;
    }
  });

  test("startup - a port in use is named like a bad config value, exit 78", async () => {
    await using first = await running({ DATA_DIR: await freshDataDir() });
    const { code, stderr } = await failedStart({
      PORT: String(first.port),
      DATA_DIR: await freshDataDir(),
    });
    expect(code).toBe(78);
    expect(stderr).toContain(
      `croupier: refusing to start: config PORT: ${first.port} is already in use`,
    );
    expect(stderr).not.toContain("    at ");
  });

  test("startup - a metrics port in use is named as METRICS_PORT", async () => {
    await using first = await running({ DATA_DIR: await freshDataDir() });
    const { code, stderr } = await failedStart({
      PORT: "0",
      METRICS_PORT: String(first.port),
      DATA_DIR: await freshDataDir(),
    });
    expect(code).toBe(78);
    expect(stderr).toContain(
      `croupier: refusing to start: config METRICS_PORT: ${first.port} is already in use`,
    );
  });

  test("startup - a second node on the same data directory is named like a bad DATA_DIR, exit 78", async () => {
    const dataDir = await freshDataDir();
    await using first = await running({ DATA_DIR: dataDir });
    const { code, stderr } = await failedStart({ PORT: "0", DATA_DIR: dataDir });
    expect(first.port).toBeGreaterThan(0);
    expect(code).toBe(78);
    expect(stderr).toContain(
      `croupier: refusing to start: config DATA_DIR: ${dataDir} is in use by another node`,
    );
    expect(stderr).toContain("ledger.db.lock");
    expect(stderr).not.toContain("    at ");
  });

  test("startup - a HOST that is not this machine's is named, exit 78", async () => {
    // 192.0.2.0/24 is TEST-NET-1: never an address of a real interface.
    const { code, stderr } = await failedStart({
      PORT: "0",
      DATA_DIR: await freshDataDir(),
      HOST: "192.0.2.1",
      DEV_MODE_PUBLIC: "1",
    });
    expect(code).toBe(78);
    expect(stderr).toContain(
      "croupier: refusing to start: config HOST: 192.0.2.1 is not an address of this machine",
    );
  });

  test("startup - a variable a typo away from a config key is named with the key meant", async () => {
    // Without OPERATOR_KEY the node is in dev mode, which refuses a public HOST: the warning
    // before the refusal says why.
    const { code, stderr } = await failedStart({
      PORT: "0",
      DATA_DIR: await freshDataDir(),
      HOST: "0.0.0.0",
      OPERATOR_KY: "x".repeat(20),
    });
    expect(code).toBe(78);
    expect(stderr).toContain(
      "croupier: OPERATOR_KY is not a config key and is ignored; did you mean OPERATOR_KEY?",
    );
    expect(stderr).toContain("croupier: refusing to start: config HOST: 0.0.0.0 is not loopback");
  });

  test("startup - SIGTERM to `npm start` alone drains and stops the node, leaving no orphan", async () => {
    const repo = new URL("..", import.meta.url).pathname;
    const child = Bun.spawn(["npm", "--prefix", repo, "start"], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        PORT: "0",
        DATA_DIR: await freshDataDir(),
      },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "ignore",
    });
    const output = await readUntil(child.stdout, /node \S+-(\d+) listening on (\S+)/, 30_000);
    const nodePid = Number(output.match[1]);
    expect(nodePid).not.toBe(child.pid);
    try {
      child.kill("SIGTERM"); // npm only, as a process manager that signals its child does
      await child.exited;
      await waitFor(() => !isAlive(nodePid), 15_000, "the node outlived npm start");
      await output.drain; // the pipe ends with the last process that held it
      expect(output.rest()).toContain("croupier: SIGTERM: draining");
    } finally {
      if (isAlive(nodePid)) process.kill(nodePid, "SIGKILL");
    }
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Reads a stream until `pattern` matches; `rest()` is everything read, the rest included. */
async function readUntil(stream: ReadableStream<Uint8Array>, pattern: RegExp, timeoutMs: number) {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const deadline = performance.now() + timeoutMs;
  let match: RegExpExecArray | null = null;
  while (match === null) {
    if (performance.now() > deadline)
      throw new Error(`no ${pattern} within ${timeoutMs} ms: ${text}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`output ended before ${pattern}: ${text}`);
    text += decoder.decode(value, { stream: true });
    match = pattern.exec(text);
  }
  const found = match;
  return {
    match: found,
    rest: () => text,
    drain: (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += decoder.decode(value, { stream: true });
      }
    })(),
  };
}

async function running(env: Record<string, string>) {
  const node = await spawnNode(env);
  return {
    port: node.port,
    async [Symbol.asyncDispose]() {
      node.process.kill("SIGTERM");
      await node.process.exited;
    },
  };
}
