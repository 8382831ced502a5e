import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { runAudit } from "../auditCli.ts";
import { depositWrite, spinWrite } from "../ledgerContract.ts";
import { openEmbeddedLedger } from "./embeddedLedger.ts";
import { ledgerPath } from "./schema.ts";
import { freshDataDir, removeDataDirs, testLedgerOptions } from "./testing/tempLedger.ts";
import { writerLockPath } from "./writerLock.ts";

afterAll(removeDataDirs);

const holderScript = join(import.meta.dir, "testing", "ledgerHolder.ts");
/** The child opens a ledger and commits once: well within this, even on a loaded machine. */
const holderOpenWaitMs = 20_000;
/** Above the wait for the child, so that bound fails first with its own message. */
const testTimeoutMs = 60_000;

function lockHeldMessage(dataDir: string): string {
  const path = ledgerPath(dataDir);
  return `${path} is already open for writing by another process or ledger (lock file ${writerLockPath(path)} is held)`;
}

/** Reads the child's stdout until it printed `line`, failing after `timeoutMs`. */
async function waitForLine(
  stream: ReadableStream<Uint8Array>,
  line: string,
  timeoutMs: number,
): Promise<void> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  const timer = setTimeout(() => reader.cancel(`no "${line}" within ${timeoutMs} ms`), timeoutMs);
  try {
    // Bounded by the timer, which cancels the stream and so ends the reads.
    while (!text.split("\n").includes(line)) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the child never printed "${line}"; it printed: ${text}`);
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

test("ledger - a second ledger on the same file is refused while the first is open, and opens once it closed", async () => {
  const dataDir = await freshDataDir();
  const first = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  try {
    await expect(openEmbeddedLedger({ ...testLedgerOptions, dataDir })).rejects.toThrow(
      lockHeldMessage(dataDir),
    );
    // The refused open took nothing from the first ledger.
    expect(first.healthy()).toBe(true);
    expect(await first.write(depositWrite("p1", 1, "d1", 100))).toMatchObject({
      status: "committed",
    });
  } finally {
    await first.close();
  }
  const second = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
  try {
    expect(await second.loadPlayer("p1")).toMatchObject({ balance: 100, seq: 1 });
    expect(await second.write(spinWrite("p1", 2, "s1", 10, 0))).toEqual({
      status: "committed",
      balance: 90,
    });
    expect((await second.audit()).failures).toEqual([]);
  } finally {
    await second.close();
  }
});

test(
  "ledger - a writer in another process keeps this one out until it dies; readers and the audit open the file meanwhile",
  async () => {
    const dataDir = await freshDataDir();
    const child = Bun.spawn([process.execPath, holderScript, dataDir], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "inherit",
    });
    try {
      await waitForLine(child.stdout, "open", holderOpenWaitMs);
      await expect(openEmbeddedLedger({ ...testLedgerOptions, dataDir })).rejects.toThrow(
        lockHeldMessage(dataDir),
      );
      const reader = new Database(ledgerPath(dataDir), { readonly: true });
      try {
        expect(reader.query("SELECT balance, seq FROM players").all()).toEqual([
          { balance: 100, seq: 1 },
        ]);
      } finally {
        reader.close();
      }
      const audit = await runAudit({ DATA_DIR: dataDir });
      expect(audit.output).toContain("OK: invariants 1-4 hold");
    } finally {
      child.kill("SIGKILL");
    }
    expect(await child.exited).not.toBe(0);
    expect(child.signalCode).toBe("SIGKILL");
    // The OS dropped the dead writer's lock: no stale lock file keeps the directory shut.
    const ledger = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
    try {
      expect(await ledger.write(spinWrite("p1", 2, "s1", 10, 0))).toEqual({
        status: "committed",
        balance: 90,
      });
      expect((await ledger.audit()).failures).toEqual([]);
    } finally {
      await ledger.close();
    }
  },
  testTimeoutMs,
);
