/**
 * Child process of the crash test: writes to the embedded ledger in DATA dir argv[2] without end,
 * from `playersCount` concurrent players, and prints each write's command id (`<player>.<seq>`)
 * on its own line only after the ledger acknowledged it as committed. The test SIGKILLs it.
 */
import { depositWrite, spinWrite } from "../../ledgerContract.ts";
import { openEmbeddedLedger } from "../embeddedLedger.ts";

const dataDir = process.argv[2];
const playersCount = Number(process.argv[3] ?? 50);
if (dataDir === undefined || !Number.isSafeInteger(playersCount) || playersCount < 1) {
  console.error("usage: crashWriter.ts <dataDir> [playersCount]");
  process.exit(2);
}

const ledger = await openEmbeddedLedger({
  dataDir,
  groupCommitWindowMs: 1,
  groupCommitWritesMax: 1_000,
  queueMax: 10_000,
  writerCacheKiB: 4_096,
});

const encoder = new TextEncoder();

async function play(playerId: string): Promise<void> {
  for (let seq = 1; ; seq++) {
    const id = `${playerId}.${seq}`;
    const write =
      seq === 1
        ? depositWrite(playerId, seq, id, 1_000_000)
        : spinWrite(playerId, seq, id, 10, seq % 3 === 0 ? 25 : 0);
    const outcome = await ledger.write(write);
    if (outcome.status !== "committed") throw new Error(`${id}: ${outcome.status}`);
    process.stdout.write(encoder.encode(`${id}\n`));
  }
}

await Promise.all(Array.from({ length: playersCount }, (_, index) => play(`w${index}`)));
