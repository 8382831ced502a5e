import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { runAudit } from "../src/store/auditCli.ts";
import { backupEmbeddedLedger } from "../src/store/backupCli.ts";
import { ledgerPath, openReaderDatabase } from "../src/store/embedded/schema.ts";
import { freshDataDir, removeDataDirs } from "../src/store/embedded/testing/tempLedger.ts";
import { newSession, RecordingSocket, startTestNode } from "./harness.ts";

afterAll(removeDataDirs);

function commandIdsIn(dataDir: string): Set<string> {
  const db = openReaderDatabase(ledgerPath(dataDir), 5_000);
  try {
    return new Set(
      db
        .query<{ id: string }, []>("SELECT command_id AS id FROM journal")
        .all()
        .map((r) => r.id),
    );
  } finally {
    db.close();
  }
}

describe("backup", () => {
  test("backup - a copy taken while spins commit holds every spin acknowledged before it and audits clean", async () => {
    await using node = await startTestNode();
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    let next = 0;
    let spinning = true;
    const spinner = (async () => {
      while (spinning) {
        const id = `b-${next++}`;
        socket.send({ type: "spin", id, game: "slot", bet: 20 });
        await socket.waitFor((m) => m.id === id, 5_000);
      }
    })();
    await socket.waitFor((m) => m.id === "b-49", 10_000);
    const acknowledged = socket.messages
      .filter((m) => m.type === "spin.result")
      .map((m) => m.id as string);
    const target = join(await freshDataDir(), "copy");
    const { path, bytes } = backupEmbeddedLedger(node.dataDir, target);
    spinning = false;
    await spinner;
    expect(path).toBe(join(target, "ledger.db"));
    expect(bytes).toBeGreaterThan(0);

    const copied = commandIdsIn(target);
    for (const id of acknowledged) expect(copied.has(id)).toBe(true);
    const audit = await runAudit({ DATA_DIR: target });
    expect(audit.output).toContain("OK: invariants");
    expect(audit.code).toBe(0);
    // The copy is usable as a node's data directory.
    await using restored = await startTestNode({ dataDir: target });
    const wallet = await fetch(`${restored.httpUrl}/v1/wallet`, {
      headers: { authorization: `Bearer ${(await newSession(restored, "x")).token}` },
    });
    expect(wallet.status).toBe(200);
  });

  test("backup - never overwrites a file, and says so", async () => {
    await using node = await startTestNode();
    await newSession(node);
    const target = await freshDataDir();
    backupEmbeddedLedger(node.dataDir, target);
    expect(() => backupEmbeddedLedger(node.dataDir, target)).toThrow(
      "exists; a backup never overwrites a file",
    );
    const [empty, elsewhere] = [await freshDataDir(), await freshDataDir()];
    expect(() => backupEmbeddedLedger(empty, elsewhere)).toThrow("no ledger at");
  });

  test("backup - npm run backup without a directory is exit 2 with its usage", async () => {
    const child = Bun.spawn(
      [process.execPath, new URL("../src/store/backupCli.ts", import.meta.url).pathname],
      {
        env: { PATH: process.env.PATH ?? "", DATA_DIR: await freshDataDir() },
        stdout: "ignore",
        stderr: "pipe",
      },
    );
    const stderr = await new Response(child.stderr).text();
    expect(await child.exited).toBe(2);
    expect(stderr).toContain("usage: npm run backup -- <directory for the copy>");
  });
});
