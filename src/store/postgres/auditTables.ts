import { rouletteGameId } from "../../games/roulette/settlement.ts";
import { auditFailuresPerCheckMax } from "../audit.ts";
import { houseAccountOf } from "../tableWrites.ts";
import { withRest } from "./auditLines.ts";
import { safeInteger, safeIntegerOrNull } from "./integers.ts";
import type { Connection } from "./pool.ts";

/**
 * Invariant 5 of the Postgres audit: every table bet is, exactly once, either settled in its
 * round or refunded with it. Two set-based statements over the audit's snapshot:
 *
 * - settlements: per finished round and player with bets in it, what the player is owed (voided:
 *   the stakes; settled: `croupier_roulette_credit` of each bet, the rule of
 *   games/roulette/settlement.ts in SQL) against what the player's settlement entry credits. A
 *   missing settlement is a failure once the round is marked paid, and in progress before. Every
 *   settlement entry must belong to a finished round the player bet in.
 * - bets: every table bet has its journal entry, which debits the player exactly the stake;
 *   and the other way round, every journal entry that stakes a player's `bet` to a table game's
 *   house has its table bet. Without that row the bet is in no round: never settled nor refunded.
 *
 * The first two read only table rows and the journal rows they name: settlement entries through
 * the partial index that holds nothing else (schema.ts), bet entries and their postings through
 * unique keys. The lookups sit in LATERAL aggregates, which the planner cannot turn into a hash
 * join over the whole journal or postings: the cost follows the table data (about two index
 * probes per bet and one per settlement), not the ledger. The journal side has no index to start
 * from: it scans postings once for stakes to a table game's house (a filter, no sort or hash),
 * then probes by key per stake found, so a ledger without tables pays that one scan.
 */

/** The table games of this build: a stake to one of their houses is a table bet. */
const tableGames: readonly string[] = [rouletteGameId];

interface SettlementRow {
  paying_out: string;
  rounds: string;
  round_id: string | null;
  player_id: string | null;
  game: string | null;
  status: string | null;
  round_paid: boolean | null;
  owed: string | null;
  unruled: string | null;
  settled: boolean | null;
  credited: string | null;
  postings: string | null;
  kind_min: string | null;
  kind_max: string | null;
  failing: string | null;
}

/** The posting kind a player's settlement credits with, by the round's status. */
const settlementKindOf: Readonly<Record<string, string>> = { settled: "win", voided: "refund" };

function settlementLines(row: SettlementRow): string[] {
  const round = `round ${row.round_id}`;
  const player = `player ${row.player_id}`;
  if (row.owed === null) {
    if (row.status === null)
      return [`invariant 5: ${round} does not exist but ${player} has a settlement of it`];
    if (row.status === "open" || row.status === "closed")
      return [`invariant 5: ${round} is ${row.status} but ${player} has a settlement of it`];
    return [`invariant 5: ${round} (${row.status}): ${player} has a settlement but no bet in it`];
  }
  const lines: string[] = [];
  const where = `${round} (${row.status})`;
  const owed = safeInteger(row.owed, "owed");
  const unruled = safeInteger(row.unruled ?? "0", "unruled bets");
  if (unruled > 0) {
    lines.push(`invariant 5: ${where}: ${unruled} bets of ${player} no ${row.game} rule settles`);
  }
  if (row.settled !== true) {
    // Listed for its bets alone while the round is still paying out.
    if (row.round_paid === true) {
      lines.push(
        `invariant 5: ${where} is marked paid but ${player} (owed ${owed}) has no settlement`,
      );
    }
    return lines;
  }
  const credited = safeInteger(row.credited ?? "0", "credited");
  if (credited !== owed)
    lines.push(`invariant 5: ${where}: ${player} was credited ${credited}, owed ${owed}`);
  const postings = safeInteger(row.postings ?? "0", "settlement postings");
  const kind = settlementKindOf[row.status ?? ""];
  const settlement = `the settlement of ${player} has ${postings} player postings`;
  if (owed === 0 && postings > 0) {
    lines.push(`invariant 5: ${where}: ${settlement}, none when nothing is owed`);
  } else if (postings > 0 && (row.kind_min !== kind || row.kind_max !== kind)) {
    const kinds = row.kind_min === row.kind_max ? row.kind_min : `${row.kind_min}..${row.kind_max}`;
    lines.push(`invariant 5: ${where}: ${settlement} of kind ${kinds}, not ${kind}`);
  }
  return lines;
}

/** Settlements against what each player of each finished round is owed; notes rounds in progress. */
async function checkSettlements(
  sql: Connection,
  failures: string[],
  notes: string[],
): Promise<void> {
  const rows = await sql<SettlementRow[]>`
    WITH owed AS (
      SELECT b.round_id, b.player_id, r.game, r.status, r.paid,
             sum(CASE WHEN r.status = 'voided' THEN b.amount ELSE c.credit END) AS owed,
             count(*) FILTER (WHERE r.status = 'settled' AND c.credit IS NULL) AS unruled
      FROM table_rounds r
      JOIN table_bets b ON b.round_id = r.round_id
      CROSS JOIN LATERAL (
        SELECT CASE WHEN r.game = 'roulette'
                    THEN croupier_roulette_credit(b.kind, b.pick, b.amount, r.result) END AS credit
      ) c
      WHERE r.status IN ('settled', 'voided')
      GROUP BY b.round_id, b.player_id, r.game, r.status, r.paid
    ), paid_out AS (
      SELECT substr(j.command_id, 8) AS round_id, j.player_id, e.*
      FROM journal j
      CROSS JOIN LATERAL (
        SELECT coalesce(sum(p.amount), 0) AS credited, count(*) AS postings,
               min(p.kind) AS kind_min, max(p.kind) AS kind_max
        FROM postings p WHERE p.journal_id = j.id AND p.account = 'player:' || j.player_id
      ) e
      WHERE starts_with(j.command_id, '~round:')
    ), flagged AS (
      -- The failing pairs and the ones still to be paid; a correct ledger keeps few of either.
      SELECT coalesce(o.round_id, s.round_id) AS round_id,
             coalesce(o.player_id, s.player_id) AS player_id,
             o.game, o.status, o.paid AS round_paid, o.owed, o.unruled,
             s.round_id IS NOT NULL AS settled, s.credited, s.postings, s.kind_min, s.kind_max
      FROM owed o FULL JOIN paid_out s ON s.round_id = o.round_id AND s.player_id = o.player_id
      WHERE o.round_id IS NULL OR s.round_id IS NULL OR o.unruled > 0 OR s.credited <> o.owed
         OR (o.owed = 0 AND s.postings > 0)
         OR (s.postings > 0 AND (s.kind_min, s.kind_max) IS DISTINCT FROM (
           CASE o.status WHEN 'settled' THEN 'win' ELSE 'refund' END,
           CASE o.status WHEN 'settled' THEN 'win' ELSE 'refund' END))
    ), f AS (
      SELECT fl.round_id, fl.player_id, coalesce(fl.game, r.game) AS game,
             coalesce(fl.status, r.status) AS status, fl.round_paid, fl.owed, fl.unruled,
             fl.settled, fl.credited, fl.postings, fl.kind_min, fl.kind_max
      FROM flagged fl LEFT JOIN table_rounds r ON fl.owed IS NULL AND r.round_id = fl.round_id
      -- A missing settlement of a round not yet marked paid is in progress, not a failure.
      WHERE fl.settled OR fl.round_paid OR fl.unruled > 0
    ), shown AS (
      SELECT f.*, count(*) OVER () AS failing FROM f
      ORDER BY f.round_id, f.player_id LIMIT ${auditFailuresPerCheckMax}
    )
    SELECT summary.*, shown.*
    FROM (
      SELECT (SELECT count(DISTINCT round_id) FROM flagged
              WHERE owed IS NOT NULL AND NOT settled AND NOT round_paid) AS paying_out,
             (SELECT count(*) FROM table_rounds) AS rounds
    ) summary LEFT JOIN shown ON true
    ORDER BY shown.round_id, shown.player_id`;
  const summary = rows[0];
  if (summary === undefined) throw new Error("audit: no table rounds summary row");
  if (safeInteger(summary.rounds, "table rounds") === 0) {
    notes.push("invariant 5: not applicable: no table rounds yet");
  }
  const payingOut = safeInteger(summary.paying_out, "rounds paying out");
  if (payingOut > 0) notes.push(`invariant 5: ${payingOut} finished rounds still paying out`);
  const shown = rows.filter((row) => row.round_id !== null);
  const failing = safeIntegerOrNull(shown[0]?.failing ?? null, "failing settlements") ?? 0;
  failures.push(...withRest(shown.flatMap(settlementLines), failing, shown.length));
}

interface BetRow {
  round_id: string;
  player_id: string;
  command_id: string;
  amount: string;
  journal_id: string | null;
  debit: string;
  failing: string;
}

/** Every table bet has its journal entry, debiting the player exactly the stake. */
async function checkBets(sql: Connection, failures: string[]): Promise<void> {
  const rows = await sql<BetRow[]>`
    WITH f AS (
      SELECT b.round_id, b.player_id, b.command_id, b.amount, e.journal_id, e.debit
      FROM table_bets b
      CROSS JOIN LATERAL (
        SELECT max(j.id) AS journal_id, coalesce(sum(p.amount), 0) AS debit
        FROM journal j
        LEFT JOIN postings p ON p.journal_id = j.id AND p.account = 'player:' || j.player_id
        WHERE j.player_id = b.player_id AND j.command_id = b.command_id
      ) e
      WHERE e.journal_id IS NULL OR e.debit <> -b.amount
    )
    SELECT f.*, count(*) OVER () AS failing FROM f
    ORDER BY f.round_id, f.player_id, f.command_id LIMIT ${auditFailuresPerCheckMax}`;
  const lines = rows.map((row) => {
    const bet = `round ${row.round_id}: bet ${row.command_id} of player ${row.player_id}`;
    if (row.journal_id === null) return `invariant 5: ${bet} has no journal entry`;
    return `invariant 5: ${bet} stakes ${row.amount} but its entry debits the player ${-safeInteger(row.debit, "debit")}`;
  });
  const failing = safeInteger(rows[0]?.failing ?? "0", "failing bets");
  failures.push(...withRest(lines, failing, rows.length));
}

interface StakeRow {
  journal_id: string;
  player_id: string;
  command_id: string;
  account: string;
  amount: string;
  failing: string;
}

/** Every bet entry staking to a table game's house has its table bet (its round's record). */
async function checkStakes(sql: Connection, failures: string[]): Promise<void> {
  const houses = tableGames.map(houseAccountOf);
  const rows = await sql<StakeRow[]>`
    WITH f AS (
      SELECT j.id AS journal_id, j.player_id, j.command_id, h.account, h.amount
      FROM postings h
      CROSS JOIN LATERAL (
        SELECT j.id, j.player_id, j.command_id FROM journal j WHERE j.id = h.journal_id
      ) j
      WHERE h.account = ANY(${houses}::text[]) AND h.amount > 0
        AND EXISTS (
          SELECT 1 FROM postings p
          WHERE p.journal_id = h.journal_id AND p.account = 'player:' || j.player_id
            AND p.kind = 'bet')
        AND NOT EXISTS (
          SELECT 1 FROM table_bets b
          WHERE b.player_id = j.player_id AND b.command_id = j.command_id)
    )
    SELECT f.*, count(*) OVER () AS failing FROM f
    ORDER BY f.journal_id LIMIT ${auditFailuresPerCheckMax}`;
  const lines = rows.map(
    (row) =>
      `invariant 5: bet ${row.command_id} of player ${row.player_id} stakes ${row.amount} to ` +
      `${row.account} but has no table bet: it is in no round, never settled nor refunded`,
  );
  const failing = safeInteger(rows[0]?.failing ?? "0", "failing stakes");
  failures.push(...withRest(lines, failing, rows.length));
}

/** Invariant 5 over the audit's snapshot: failure lines name the round; notes what is in progress. */
export async function checkTableRounds(
  sql: Connection,
  failures: string[],
  notes: string[],
): Promise<void> {
  // Both statements are mostly index probes, which JIT compilation (half a second per statement
  // at a million bets) does not speed up; and their join keys are text, which a merge join must
  // sort in the database's collation, while a hash join only hashes them. The rest of the audit
  // has run by now, so these settings change no other check.
  await sql`SET LOCAL jit = off`;
  await sql`SET LOCAL enable_mergejoin = off`;
  await checkSettlements(sql, failures, notes);
  await checkBets(sql, failures);
  await checkStakes(sql, failures);
}
