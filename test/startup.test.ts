import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnNode } from "../src/testing/nodeProcess.ts";

/** What a node that cannot start says: one line naming the cause and an exit code, no stack trace. */

const mainPath = new URL("../src/main.ts", import.meta.url).pathname;
const dataDirs: string[] = [];
afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "croupier-startup-"));
  dataDirs.push(dir);
  return dir;
}

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
      const node = await spawnNode({ DATA_DIR: freshDataDir() });
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
    await using first = await running({ DATA_DIR: freshDataDir() });
    const { code, stderr } = await failedStart({
      PORT: String(first.port),
      DATA_DIR: freshDataDir(),
    });
    expect(code).toBe(78);
    expect(stderr).toContain(
      `croupier: refusing to start: config PORT: ${first.port} is already in use`,
    );
    expect(stderr).not.toContain("    at ");
  });

  test("startup - a metrics port in use is named as METRICS_PORT", async () => {
    await using first = await running({ DATA_DIR: freshDataDir() });
    const { code, stderr } = await failedStart({
      PORT: "0",
      METRICS_PORT: String(first.port),
      DATA_DIR: freshDataDir(),
    });
    expect(code).toBe(78);
    expect(stderr).toContain(
      `croupier: refusing to start: config METRICS_PORT: ${first.port} is already in use`,
    );
  });

  test("startup - a second node on the same data directory says why in one line, exit 1", async () => {
    const dataDir = freshDataDir();
    await using first = await running({ DATA_DIR: dataDir });
    const { code, stderr } = await failedStart({ PORT: "0", DATA_DIR: dataDir });
    expect(first.port).toBeGreaterThan(0);
    expect(code).toBe(1);
    expect(stderr).toContain("croupier: could not start:");
    expect(stderr).toContain("ledger.db.lock");
    expect(stderr).not.toContain("    at ");
  });
});

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
