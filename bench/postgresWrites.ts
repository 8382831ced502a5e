/**
 * Postgres ledger write throughput with spin-shaped writes, beside two baselines on the same
 * schema (indexes, triggers) in the same fresh database:
 *
 *   1. PostgresLedger.write, closed loop: many players, each awaits its write before the next
 *      (all checks: shape, idempotency, fencing under row locks, funds; group commit);
 *   2. raw: exactly the rows a spin writes (journal, postings, the player's row), inserted with
 *      batched multi-row INSERTs through postgres.js, one transaction per batch of the ledger's
 *      average batch size, as many transactions at once as the ledger runs; no reads, no checks;
 *   3. one transaction per spin with the same rows, on a pool of the ledger's size.
 *
 * Prints writes/s of each and the ratios. Uses DATABASE_TEST_URL, or a throwaway Postgres when unset.
 *
 *   bun bench/postgresWrites.ts
 *   PG_BENCH_SECONDS=10 PG_BENCH_PLAYERS=2000 bun bench/postgresWrites.ts
 */

import postgres, { type TransactionSql } from "postgres";
import type { WalletWrite } from "../src/store/ledger.ts";
import { openPostgresLedger, type PostgresLedger } from "../src/store/postgres/postgresLedger.ts";
import { migrate } from "../src/store/postgres/schema.ts";
import { createTestDatabase } from "../src/testing/postgresTestDb.ts";
import { closedLoopSpins, fundingWrite, spinWrite } from "./spinWrites.ts";

const durationMs = 1_000 * Number(process.env.PG_BENCH_SECONDS ?? 5);
const playersCount = Number(process.env.PG_BENCH_PLAYERS ?? 1_000);
const poolSize = 4;
const writeTransactionsMax = 2;
const startingBalance = 1_000_000_000;
const bet = 100;

function spin(playerId: string, seq: number): WalletWrite {
  return spinWrite(playerId, seq, bet, `r-${playerId}-${seq}`);
}

function start(playerId: string): WalletWrite {
  return fundingWrite(playerId, startingBalance);
}

const players = Array.from({ length: playersCount }, (_, index) => `player${index}`);
const perSecond = (writes: number, ms: number) => Math.round(writes / (ms / 1_000));

async function benchLedger(url: string, schema: string): Promise<{ rate: number; batch: number }> {
  const ledger: PostgresLedger = await openPostgresLedger({
    url,
    schema,
    poolSize,
    writeTransactionsMax,
    connectTimeoutMs: 5_000,
    acquireTimeoutMs: 5_000,
    groupCommitWindowMs: 1,
    groupCommitWritesMax: 1_000,
    queueMax: 20_000,
  });
  try {
    await Promise.all(players.map((playerId) => ledger.write(start(playerId))));
    const before = ledger.stats();
    const startedMs = performance.now();
    const latenciesMs = await closedLoopSpins(ledger, players, durationMs, spin);
    const elapsedMs = performance.now() - startedMs;
    const after = ledger.stats();
    const batches = after.batches - before.batches;
    const batch = Math.round(latenciesMs.length / Math.max(1, batches));
    const sorted = Float64Array.from(latenciesMs).sort();
    const at = (q: number) => (sorted[Math.floor((sorted.length - 1) * q)] ?? 0).toFixed(1);
    const report = await ledger.audit();
    console.log(
      `  1. PostgresLedger.write, ${playersCount} players closed loop: ${perSecond(latenciesMs.length, elapsedMs)} writes/s;` +
        ` latency p50 ${at(0.5)} ms, p99 ${at(0.99)} ms; ${batches} transactions of ${batch} writes on average;` +
        ` audit ${report.ok ? "ok" : "FAILED"} (${report.elapsedMs} ms)`,
    );
    return { rate: latenciesMs.length / (elapsedMs / 1_000), batch };
  } finally {
    await ledger.close();
  }
}

/** The rows of one spin, as the ledger stores them (balances carried by the caller). */
function rowsOf(write: WalletWrite, balance: number) {
  const { round } = write;
  const journal = {
    player_id: write.playerId,
    seq: write.seq,
    command_id: write.commandId,
    request_hash: write.requestHash,
    reply: write.reply,
    event: null,
    round_id: round?.roundId ?? null,
    game: round?.game ?? null,
    round_detail: round?.detail ?? null,
  };
  let running = balance;
  const postings = write.postings.map((posting, n) => {
    const own = posting.account === `player:${write.playerId}`;
    if (own) running += posting.amount;
    return {
      n,
      account: posting.account,
      kind: own ? (posting.kind ?? null) : null,
      amount: posting.amount,
      balance_after: own ? running : null,
    };
  });
  return {
    journal,
    postings,
    player: { player_id: write.playerId, balance: running, seq: write.seq },
  };
}

const journalColumns = [
  "player_id",
  "seq",
  "command_id",
  "request_hash",
  "reply",
  "event",
  "round_id",
  "game",
  "round_detail",
] as const;

/** Inserts the rows of `writes` in the open transaction `tx`: three multi-row statements. */
async function insertRows(
  tx: TransactionSql,
  writes: readonly WalletWrite[],
  balances: Map<string, number>,
) {
  const rows = writes.map((write) => {
    const spinRows = rowsOf(write, balances.get(write.playerId) ?? startingBalance);
    balances.set(write.playerId, spinRows.player.balance);
    return spinRows;
  });
  const ids = await tx<{ id: string }[]>`
    INSERT INTO journal ${tx(
      rows.map((row) => row.journal),
      ...journalColumns,
    )} RETURNING id`;
  const postings = rows.flatMap((row, index) =>
    row.postings.map((posting) => ({ journal_id: ids[index]?.id, ...posting })),
  );
  await tx`INSERT INTO postings ${tx(postings, "journal_id", "n", "account", "kind", "amount", "balance_after")}`;
  await tx`
    INSERT INTO players ${tx(
      rows.map((row) => row.player),
      "player_id",
      "balance",
      "seq",
    )}
    ON CONFLICT (player_id) DO UPDATE SET balance = excluded.balance, seq = excluded.seq`;
}

async function benchRaw(url: string, schema: string, batch: number): Promise<number> {
  const sql = postgres(url, {
    max: writeTransactionsMax,
    onnotice: () => {},
    connection: { search_path: schema },
  });
  try {
    const balances = new Map<string, number>();
    await sql.begin((tx) => insertRows(tx, players.map(start), balances));
    let written = 0;
    let next = 0;
    const seqs = new Map<string, number>();
    const startedMs = performance.now();
    const endMs = startedMs + durationMs;
    // Each lane takes the next `batch` players in turn, so the lanes never share a player.
    await Promise.all(
      Array.from({ length: writeTransactionsMax }, async () => {
        while (performance.now() < endMs) {
          const writes = Array.from({ length: batch }, () => {
            const playerId = players[next++ % players.length] as string;
            const seq = (seqs.get(playerId) ?? 1) + 1;
            seqs.set(playerId, seq);
            return spin(playerId, seq);
          });
          await sql.begin((tx) => insertRows(tx, writes, balances));
          written += writes.length;
        }
      }),
    );
    const rate = written / ((performance.now() - startedMs) / 1_000);
    console.log(
      `  2. raw multi-row INSERTs of the same rows, batches of ${batch}, ${writeTransactionsMax} transactions at once,` +
        ` no reads or checks: ${Math.round(rate)} writes/s`,
    );
    return rate;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function benchPerSpin(url: string, schema: string): Promise<number> {
  const sql = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    connection: { search_path: schema },
  });
  try {
    const balances = new Map<string, number>();
    await sql.begin((tx) => insertRows(tx, players.map(start), balances));
    let written = 0;
    const startedMs = performance.now();
    const endMs = startedMs + durationMs;
    await Promise.all(
      players.map(async (playerId) => {
        for (let seq = 2; performance.now() < endMs; seq++) {
          await sql.begin((tx) => insertRows(tx, [spin(playerId, seq)], balances));
          written += 1;
        }
      }),
    );
    const rate = written / ((performance.now() - startedMs) / 1_000);
    console.log(
      `  3. one transaction per spin, same rows, pool of ${poolSize}, ${playersCount} players: ${Math.round(rate)} writes/s`,
    );
    return rate;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

const availability = await createTestDatabase();
if (availability.database === undefined) throw new Error(availability.skipReason);
const { database } = availability;
try {
  const admin = postgres(database.url, { max: 1, onnotice: () => {} });
  for (const schema of ["bench_ledger", "bench_raw", "bench_per_spin"])
    await migrate(admin, schema);
  await admin.end();
  console.log(
    `postgres writes: ${durationMs / 1_000} s per run, spin-shaped writes, database ${database.name}`,
  );
  const ledger = await benchLedger(database.url, "bench_ledger");
  const raw = await benchRaw(database.url, "bench_raw", Math.max(1, ledger.batch));
  const perSpin = await benchPerSpin(database.url, "bench_per_spin");
  console.log(
    `  ratios: ledger / raw = ${(ledger.rate / raw).toFixed(2)}, ledger / one-transaction-per-spin = ${(ledger.rate / perSpin).toFixed(2)}`,
  );
} finally {
  await database.drop();
}
