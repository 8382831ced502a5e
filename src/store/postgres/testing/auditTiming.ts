/**
 * How long the Postgres audit takes on a big ledger: bulk-loads POSTINGS postings (default one
 * million) with generate_series into a fresh database (see src/testing/postgresTestDb.ts),
 * shaped as the ledger writes them (a deposit per player, then spins of a bet and a win), then
 * times `audit()` a few times through a real PostgresLedger. The database is dropped after.
 * With TABLEBETS, settled and paid roulette rounds with about that many bets are added
 * (tableRoundsLoad.ts), so invariant 5 has rows to check.
 *
 *   bun src/store/postgres/testing/auditTiming.ts [postings] [players] [tableBets]
 */
import postgres from "postgres";
import { createTestDatabase } from "../../../testing/postgresTestDb.ts";
import { openPostgresLedger } from "../postgresLedger.ts";
import { migrate } from "../schema.ts";
import { loadTableRounds } from "./tableRoundsLoad.ts";

const postingsTarget = Number(process.argv[2] ?? 1_000_000);
const playersCount = Number(process.argv[3] ?? 100_000);
const tableBets = Number(process.argv[4] ?? 0);
const auditRuns = 3;
const deposit = 1_000_000_000;
const bet = 100;
const win = 50;

if (![postingsTarget, playersCount, tableBets].every(Number.isSafeInteger)) {
  throw new Error("usage: auditTiming.ts [postings] [players] [tableBets]");
}
// A deposit is two postings, a spin four: writes = players + spins.
const spins = Math.max(0, Math.ceil((postingsTarget - 2 * playersCount) / 4));
const writes = playersCount + spins;

const { database, skipReason } = await createTestDatabase();
if (database === undefined) throw new Error(skipReason);
const sql = postgres(database.url, { max: 1, onnotice: () => {} });
try {
  await sql.unsafe("SET search_path = public; SET statement_timeout = 0");
  await sql.reserve().then(async (reserved) => {
    await migrate(reserved, "public");
    reserved.release();
  });
  const loadStartedMs = performance.now();
  // Write w (0-based) is player w % P's write number floor(w / P) + 1; journal id = w + 1.
  await sql`
    INSERT INTO journal (player_id, seq, command_id, request_hash, reply, round_id, game, round_detail)
    SELECT 'p' || (w % ${playersCount}), w / ${playersCount} + 1, 'c' || (w / ${playersCount} + 1),
           CASE WHEN w < ${playersCount} THEN 'deposit' ELSE 'spin:slot:100' END,
           '{"type":"spin.result","bet":100,"win":50}',
           CASE WHEN w < ${playersCount} THEN NULL ELSE 'r' || w END,
           CASE WHEN w < ${playersCount} THEN NULL ELSE 'slot' END,
           CASE WHEN w < ${playersCount} THEN NULL ELSE '{"bet":100,"win":50}' END
    FROM generate_series(0::bigint, ${writes - 1}::bigint) AS w ORDER BY w`;
  await sql`
    INSERT INTO postings (journal_id, n, account, kind, amount, balance_after)
    SELECT w + 1, 0, 'cash', NULL, ${-deposit}::bigint, NULL
    FROM generate_series(0::bigint, ${playersCount - 1}::bigint) AS w
    UNION ALL
    SELECT w + 1, 1, 'player:p' || w, 'deposit', ${deposit}::bigint, ${deposit}::bigint
    FROM generate_series(0::bigint, ${playersCount - 1}::bigint) AS w`;
  // Spin k of a player (k = seq - 1 >= 1): before it the balance is deposit - (k - 1)(bet - win).
  await sql`
    INSERT INTO postings (journal_id, n, account, kind, amount, balance_after)
    SELECT w + 1, x.n, x.account, x.kind, x.amount, x.balance_after
    FROM generate_series(${playersCount}::bigint, ${writes - 1}::bigint) AS w,
         LATERAL (SELECT ${deposit}::bigint - (w / ${playersCount} - 1) * ${bet - win} AS before) b,
         LATERAL (VALUES
           (0::smallint, 'player:p' || (w % ${playersCount}), 'bet', ${-bet}::bigint, b.before - ${bet}),
           (1::smallint, 'house:slot', NULL, ${bet}::bigint, NULL),
           (2::smallint, 'house:slot', NULL, ${-win}::bigint, NULL),
           (3::smallint, 'player:p' || (w % ${playersCount}), 'win', ${win}::bigint,
            b.before - ${bet - win})
         ) AS x(n, account, kind, amount, balance_after)`;
  await sql`
    INSERT INTO players (player_id, balance, seq)
    SELECT 'p' || p, ${deposit}::bigint - (count(*) - 1) * ${bet - win}, count(*)
    FROM generate_series(0::bigint, ${writes - 1}::bigint) AS w, LATERAL (SELECT w % ${playersCount} AS p) x
    GROUP BY p`;
  const tablePostings = tableBets > 0 ? await loadTableRounds(sql, tableBets) : 0;
  const loadedMs = performance.now() - loadStartedMs;
  await sql`VACUUM ANALYZE`;
  const [size] = await sql<{ size: string }[]>`
    SELECT pg_size_pretty(pg_database_size(current_database())) AS size`;
  console.log(
    `loaded ${writes} journal entries, ${2 * playersCount + 4 * spins} postings, ${playersCount} players` +
      (tableBets > 0 ? `, ~${tableBets} table bets (${tablePostings} postings)` : "") +
      ` in ${Math.round(loadedMs)} ms (+ VACUUM ANALYZE); database ${size?.size}`,
  );
  const ledger = await openPostgresLedger({
    url: database.url,
    poolSize: 2,
    connectTimeoutMs: 5_000,
    acquireTimeoutMs: 5_000,
    groupCommitWindowMs: 1,
    groupCommitWritesMax: 1_000,
    queueMax: 1_000,
  });
  try {
    for (let run = 1; run <= auditRuns; run++) {
      const report = await ledger.audit();
      const { players, commands, postings } = report.counts;
      console.log(
        `audit run ${run}: ${report.ok ? "ok" : `FAILED ${report.failures.slice(0, 3).join("; ")}`},` +
          ` ${players} players, ${commands} commands, ${postings} postings in ${report.elapsedMs} ms`,
      );
    }
  } finally {
    await ledger.close();
  }
} finally {
  await sql.end({ timeout: 5 });
  await database.drop();
}
