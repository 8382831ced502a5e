import type { Sql } from "postgres";

/**
 * Bulk-loads settled and paid roulette rounds for the audit timing (auditTiming.ts), shaped as
 * the ledger writes them: `bettorsPerRound` table players (`tp<k>`) each deposit once, then bet
 * 10 on red in every round and take their settlement of it (a win of 20 on a red number, an
 * entry without postings otherwise). Round r lands on r % 37. Journal ids follow the rows'
 * insert order, so each player's entries get ids in seq order as the ledger's do.
 */

const bettorsPerRound = 200;
const deposit = 1_000_000_000;
const stake = 10;
/** Red pays 1:1: the stake back and as much again. */
const redCredit = 2 * stake;

/** Loads about `bets` table bets (whole rounds); returns the postings added. */
export async function loadTableRounds(sql: Sql, bets: number): Promise<number> {
  const rounds = Math.max(1, Math.ceil(bets / bettorsPerRound));
  const reds = `ARRAY[1,3,5,7,9,12,14,16,18,19,21,23,25,27,30,32,34,36]`;
  // Per round: its result, whether it is red, and the red rounds before it (a bettor's balance
  // before round r is deposit - stake * r + redCredit * reds_before).
  await sql.unsafe(`
    CREATE TEMP TABLE load_rounds AS
    SELECT r, (r % 37)::smallint AS result, (r % 37) = ANY(${reds}) AS red,
           coalesce(count(*) FILTER (WHERE (r % 37) = ANY(${reds}))
             OVER (ORDER BY r ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS reds_before
    FROM generate_series(0, ${rounds - 1}) AS r`);
  await sql`
    INSERT INTO table_rounds (round_id, table_id, game, status, server_seed, commit_hex,
      client_seeds, result, opened_at_ms, closes_at_ms, closed_at, finished_at, paid)
    SELECT 'tr' || r, 'tt1', 'roulette', 'settled', repeat('ab', 32), repeat('cd', 32), '[]',
           result, r, r + 1, now(), now(), true
    FROM load_rounds`;
  await sql`
    INSERT INTO journal (player_id, seq, command_id, request_hash, reply)
    SELECT 'tp' || k, 1, 'd1', 'deposit', '{}' FROM generate_series(0, ${bettorsPerRound - 1}) AS k
    ORDER BY k`;
  await sql`
    INSERT INTO journal (player_id, seq, command_id, request_hash, reply)
    SELECT 'tp' || k, 2 + 2 * r + x.settlement,
           CASE WHEN x.settlement = 0 THEN 'b' || r ELSE '~round:tr' || r END, 'h', '{}'
    FROM load_rounds, generate_series(0, ${bettorsPerRound - 1}) AS k,
         (VALUES (0), (1)) AS x(settlement)
    ORDER BY r, x.settlement, k`;
  await sql`
    INSERT INTO table_bets (player_id, command_id, round_id, kind, pick, amount)
    SELECT 'tp' || k, 'b' || r, 'tr' || r, 'red', NULL, ${stake}::bigint
    FROM load_rounds, generate_series(0, ${bettorsPerRound - 1}) AS k`;
  // Entry seq 2 + 2r is the bet of round r, 2 + 2r + 1 its settlement (postings only on red).
  const [inserted] = await sql<{ count: number }[]>`
    WITH ins AS (
      INSERT INTO postings (journal_id, n, account, kind, amount, balance_after)
      SELECT j.id, x.n, coalesce('player:' || x.player, 'house:roulette'), x.kind, x.amount,
             x.balance_after
      FROM journal j
      JOIN load_rounds lr ON lr.r = (j.seq - 2) / 2
      CROSS JOIN LATERAL (
        SELECT ${deposit}::bigint - ${stake}::bigint * lr.r + ${redCredit}::bigint * lr.reds_before AS before
      ) b
      CROSS JOIN LATERAL (VALUES
        (0::smallint, j.player_id, 'bet', ${-stake}::bigint, b.before - ${stake}, 0),
        (1::smallint, NULL, NULL, ${stake}::bigint, NULL, 0),
        (0::smallint, NULL, NULL, ${-redCredit}::bigint, NULL, 1),
        (1::smallint, j.player_id, 'win', ${redCredit}::bigint,
         b.before - ${stake} + ${redCredit}, 1)
      ) AS x(n, player, kind, amount, balance_after, settlement)
      WHERE starts_with(j.player_id, 'tp') AND j.seq > 1
        AND x.settlement = (j.seq - 2) % 2 AND (x.settlement = 0 OR lr.red)
      RETURNING 1
    ) SELECT count(*)::int AS count FROM ins`;
  await sql`
    INSERT INTO postings (journal_id, n, account, kind, amount, balance_after)
    SELECT j.id, x.n, x.account, x.kind, x.amount, x.balance_after
    FROM journal j, LATERAL (VALUES
      (0::smallint, 'cash', NULL, ${-deposit}::bigint, NULL::bigint),
      (1::smallint, 'player:' || j.player_id, 'deposit', ${deposit}::bigint, ${deposit}::bigint)
    ) AS x(n, account, kind, amount, balance_after)
    WHERE starts_with(j.player_id, 'tp') AND j.seq = 1`;
  await sql`
    INSERT INTO players (player_id, balance, seq)
    SELECT 'tp' || k, ${deposit}::bigint - ${stake}::bigint * ${rounds}::bigint
             + ${redCredit}::bigint * (SELECT count(*) FROM load_rounds WHERE red),
           1 + 2 * ${rounds}::bigint
    FROM generate_series(0, ${bettorsPerRound - 1}) AS k`;
  await sql`DROP TABLE load_rounds`;
  return (inserted?.count ?? 0) + 2 * bettorsPerRound;
}
