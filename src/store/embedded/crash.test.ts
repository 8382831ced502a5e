import { Database } from "bun:sqlite";
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { openEmbeddedLedger } from "./embeddedLedger.ts";
import { freshDataDir, removeDataDirs, testLedgerOptions } from "./testing/tempLedger.ts";

afterAll(removeDataDirs);

const writerScript = join(import.meta.dir, "testing", "crashWriter.ts");
/** Acknowledgements to see before the kill: enough that many batches committed and more are in flight. */
const acknowledgementsBeforeKill = 5_000;
const acknowledgementWaitMs = 20_000;
/** Above the acknowledgement bound, so that bound fails first with its own message. */
const testTimeoutMs = 60_000;

/** Reads acknowledged command ids from the child until `count` arrived or the bound passed. */
async function readAcknowledgements(
  stream: ReadableStream<Uint8Array>,
  count: number,
): Promise<string[]> {
  const acknowledged: string[] = [];
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const deadline = Date.now() + acknowledgementWaitMs;
  let partial = "";
  while (acknowledged.length < count && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    const lines = (partial + decoder.decode(value, { stream: true })).split("\n");
    partial = lines.pop() ?? "";
    acknowledged.push(...lines.filter((line) => line !== ""));
  }
  reader.releaseLock();
  return acknowledged;
}

test(
  "ledger - after SIGKILL mid-stream every acknowledged write is present exactly once",
  async () => {
    const dataDir = await freshDataDir();
    const child = Bun.spawn([process.execPath, writerScript, dataDir, "50"], {
      stdout: "pipe",
      stderr: "inherit",
    });
    let acknowledged: string[];
    try {
      acknowledged = await readAcknowledgements(child.stdout, acknowledgementsBeforeKill);
    } finally {
      child.kill("SIGKILL");
    }
    expect(await child.exited).not.toBe(0);
    expect(child.signalCode).toBe("SIGKILL");
    expect(acknowledged.length).toBeGreaterThanOrEqual(acknowledgementsBeforeKill);

    const ledger = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
    try {
      const report = await ledger.audit();
      expect(report.failures).toEqual([]);
      expect(report.ok).toBe(true);
      const db = new Database(ledger.path, { readonly: true });
      try {
        const copies = db.prepare<{ copies: number }, [string, string]>(
          "SELECT COUNT(*) AS copies FROM journal WHERE player_id = ? AND command_id = ?",
        );
        const highestSeq = new Map<string, number>();
        for (const id of acknowledged) {
          const [playerId = "", seqText = ""] = id.split(".");
          expect(copies.get(playerId, id)?.copies).toBe(1);
          highestSeq.set(playerId, Math.max(highestSeq.get(playerId) ?? 0, Number(seqText)));
        }
        for (const [playerId, seq] of highestSeq) {
          expect((await ledger.loadPlayer(playerId)).seq).toBeGreaterThanOrEqual(seq);
        }
      } finally {
        db.close();
      }
    } finally {
      await ledger.close();
    }
  },
  testTimeoutMs,
);
