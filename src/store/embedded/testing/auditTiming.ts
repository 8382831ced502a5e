/**
 * How long the audit takes on a big ledger: fills a fresh file with spin-shaped writes through
 * the real batch writer (no worker, to fill fast) until it holds POSTINGS postings (default one
 * million), then times the audit a few times on a read-only connection.
 *
 *   bun src/store/embedded/testing/auditTiming.ts [postings] [players]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { auditSqliteLedger } from "../../audit.ts";
import type { WalletWrite } from "../../ledger.ts";
import { depositWrite, spinWrite } from "../../ledgerContract.ts";
import { createBatchWriter } from "../batchWriter.ts";
import { embeddedLedgerDefaults } from "../options.ts";
import { ledgerPath, openReaderDatabase, openWriterDatabase } from "../schema.ts";

const postingsTarget = Number(process.argv[2] ?? 1_000_000);
const playersCount = Number(process.argv[3] ?? 10_000);
const batchWrites = 1_000;
const auditRuns = 3;

const dataDir = await mkdtemp(join(tmpdir(), "croupier-audit-timing-"));
try {
  const path = ledgerPath(dataDir);
  const db = openWriterDatabase(path, {
    busyTimeoutMs: embeddedLedgerDefaults.busyTimeoutMs,
    cacheKiB: embeddedLedgerDefaults.writerCacheKiB,
    walAutocheckpointPages: embeddedLedgerDefaults.walAutocheckpointPages,
  });
  const writer = createBatchWriter(db);
  const seqs = new Array<number>(playersCount).fill(0);
  let postings = 0;
  const fillStartedMs = performance.now();
  // Bounded: every write adds at least two postings.
  for (let written = 0; postings < postingsTarget; ) {
    const batch: WalletWrite[] = [];
    for (let i = 0; i < batchWrites; i++, written++) {
      const player = written % playersCount;
      const seq = (seqs[player] ?? 0) + 1;
      seqs[player] = seq;
      const id = `c${seq}`;
      batch.push(
        seq === 1
          ? depositWrite(`p${player}`, 1, id, 1_000_000)
          : spinWrite(`p${player}`, seq, id, 100, seq % 3 === 0 ? 250 : 0),
      );
      postings += batch.at(-1)?.postings.length ?? 0;
    }
    for (const result of writer.commit(batch, Date.now())) {
      if (!("outcome" in result) || result.outcome.status !== "committed")
        throw new Error(JSON.stringify(result));
    }
  }
  db.close();
  console.log(
    `filled ${postings} postings for ${playersCount} players in ${Math.round(performance.now() - fillStartedMs)} ms`,
  );
  const reader = openReaderDatabase(path, embeddedLedgerDefaults.busyTimeoutMs);
  for (let run = 1; run <= auditRuns; run++) {
    const report = auditSqliteLedger(reader);
    const { players, commands } = report.counts;
    console.log(
      `audit run ${run}: ${report.ok ? "ok" : "FAILED"}, ${players} players, ${commands} commands, ${report.counts.postings} postings in ${report.elapsedMs} ms`,
    );
  }
  reader.close();
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
