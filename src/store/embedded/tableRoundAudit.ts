import type { Database } from "bun:sqlite";
import { rouletteGameId, settlementsOf } from "../../games/roulette/settlement.ts";
import { type TableRoundStatus, tableSettlementCommandId } from "../tableRounds.ts";
import { houseAccountOf } from "../tableWrites.ts";

/**
 * Invariant 5 of the embedded ledger's audit (../audit.ts): every table bet is, exactly once,
 * either settled in its round or refunded with it. Runs inside the audit's read transaction.
 *
 * "Exactly once" is the journal's unique (player, command id) with one settlement id per round
 * (tableRounds.ts); what is checked here is that each settlement is the right one:
 * - per finished round and player with bets, the settlement credits what `settlementsOf` says,
 *   under the kind of the round's end (a missing one is a failure once the round is marked paid,
 *   before that the table is still paying out);
 * - every settlement entry belongs to a finished round the player bet in;
 * - every recorded bet has its journal entry, which debited exactly the stake;
 * - every bet the journal holds against a table game's house is recorded: a round settles or
 *   refunds only the bets recorded against it, so one missing here is never paid either way.
 */

export interface FailureSink {
  add(line: string): void;
}

/** Bounds of a settlement command id: `~round:` ... and everything after it up to `~round;`. */
const settlementIdLow = tableSettlementCommandId("");
const settlementIdHigh = "~round;";

interface FinishedBetRow {
  roundId: string;
  game: string;
  status: "settled" | "voided";
  result: number | null;
  paid: number;
  playerId: string;
  kind: string;
  pick: number | null;
  amount: number;
}

interface SettlementRow {
  /** Null when the player has no settlement of the round. */
  journalId: number | null;
  postings: number;
  credit: number;
  wrongKind: number;
}

/** The player kind a settlement's credit carries, by how its round ended. */
const settlementKind = { settled: "win", voided: "refund" } as const;

/** Checks each finished round's settlements against its bets; returns the rounds still paying out. */
function checkFinishedRounds(db: Database, failures: FailureSink): number {
  const settlement = db.prepare<SettlementRow, [string, string, string, string]>(
    `SELECT MAX(j.id) AS journalId, COUNT(p.n) AS postings,
            COALESCE(SUM(p.amount), 0) AS credit,
            COALESCE(SUM(p.n IS NOT NULL AND p.kind IS NOT ?3), 0) AS wrongKind
     FROM journal j LEFT JOIN postings p ON p.journal_id = j.id AND p.account = ?4
     WHERE j.player_id = ?1 AND j.command_id = ?2 AND j.round_id IS NULL`,
  );
  // Bets come grouped by round (the round's primary-key order), each round checked when complete.
  const rows = db
    .query<FinishedBetRow, []>(
      `SELECT r.round_id AS roundId, r.game, r.status, r.result, r.paid, b.player_id AS playerId,
              b.kind, b.pick, b.amount
       FROM table_rounds r JOIN table_bets b ON b.round_id = r.round_id
       WHERE r.status IN ('settled', 'voided')
       ORDER BY r.round_id`,
    )
    .iterate();
  let payingOut = 0;
  let bets: FinishedBetRow[] = [];
  const checkRound = (): void => {
    const round = bets[0];
    if (round === undefined) return;
    const name = `invariant 5: round ${round.roundId} (${round.status}${round.paid ? ", paid" : ""})`;
    const owed = owedPerPlayer(round, bets, name, failures);
    if (owed === undefined) return;
    let missing = false;
    const kind = settlementKind[round.status];
    for (const [playerId, amount] of owed) {
      const commandId = tableSettlementCommandId(round.roundId);
      const row = settlement.get(playerId, commandId, kind, `player:${playerId}`);
      if (row === null || row.journalId === null) {
        missing = true;
        if (round.paid) failures.add(`${name}: player ${playerId} has bets but no settlement`);
        continue;
      }
      if (row.credit !== amount) {
        failures.add(`${name}: player ${playerId} was credited ${row.credit}, owed ${amount}`);
      } else if (amount === 0 && row.postings > 0) {
        failures.add(
          `${name}: player ${playerId} is owed nothing but has ${row.postings} postings`,
        );
      }
      if (row.wrongKind > 0) {
        failures.add(`${name}: player ${playerId}'s settlement posts a kind other than ${kind}`);
      }
    }
    if (missing && !round.paid) payingOut += 1;
  };
  for (const row of rows) {
    if (row.roundId !== bets[0]?.roundId) {
      checkRound();
      bets = [];
    }
    bets.push(row);
  }
  checkRound();
  return payingOut;
}

/** What each player of the round is owed, or undefined (reported) when the audit cannot tell. */
function owedPerPlayer(
  round: FinishedBetRow,
  bets: readonly FinishedBetRow[],
  name: string,
  failures: FailureSink,
): Map<string, number> | undefined {
  if (round.game !== rouletteGameId) {
    failures.add(`${name}: game ${round.game} has no settlement rule the audit knows`);
    return undefined;
  }
  if (round.status === "settled" && round.result === null) {
    failures.add(`${name}: settled without a result`);
    return undefined;
  }
  try {
    return settlementsOf(bets, round.status === "voided" ? null : round.result);
  } catch (error) {
    failures.add(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

interface StraySettlementRow {
  playerId: string;
  roundId: string;
  status: TableRoundStatus | null;
  hasBet: number;
}

/**
 * Settlement entries of no round, of an unfinished round, or of a player without bets in it.
 * Read per player (CROSS JOIN keeps players the outer loop) as a range seek in the journal's
 * (player, command id) index of entries without a slot round, not a scan of the whole journal;
 * entries without a player row are left to invariant 4, which reports them.
 */
function checkStraySettlements(db: Database, failures: FailureSink): void {
  const rows = db
    .query<StraySettlementRow, [string, string]>(
      `SELECT playerId, roundId, status, hasBet FROM (
         SELECT j.player_id AS playerId, substr(j.command_id, ${settlementIdLow.length + 1}) AS roundId,
                r.status AS status,
                EXISTS (SELECT 1 FROM table_bets b
                        WHERE b.round_id = r.round_id AND b.player_id = j.player_id) AS hasBet
         FROM players p
         CROSS JOIN journal j ON j.player_id = p.player_id AND j.command_id >= ?1 AND j.command_id < ?2
           AND j.round_id IS NULL
         LEFT JOIN table_rounds r ON r.round_id = substr(j.command_id, ${settlementIdLow.length + 1}))
       WHERE status IS NULL OR status IN ('open', 'closed') OR hasBet = 0`,
    )
    .iterate(settlementIdLow, settlementIdHigh);
  for (const row of rows) {
    const name = `invariant 5: round ${row.roundId}: settlement of player ${row.playerId}`;
    if (row.status === null) failures.add(`${name}, but there is no such round`);
    else if (row.status === "open" || row.status === "closed") {
      failures.add(`${name}, but the round is ${row.status}`);
    } else failures.add(`${name}, who has no bet in it`);
  }
}

interface StrayBetRow {
  playerId: string;
  commandId: string;
  roundId: string;
  amount: number;
  journalId: number | null;
  roundExists: number;
  debit: number;
}

/** Recorded bets without their journal entry, debited other than their stake, or of no round. */
function checkBets(db: Database, failures: FailureSink): void {
  const rows = db
    .query<StrayBetRow, []>(
      `SELECT * FROM (
         SELECT b.player_id AS playerId, b.command_id AS commandId, b.round_id AS roundId,
                b.amount AS amount, j.id AS journalId, r.round_id IS NOT NULL AS roundExists,
                (SELECT COALESCE(SUM(p.amount), 0) FROM postings p
                 WHERE p.journal_id = j.id AND p.account = 'player:' || b.player_id) AS debit
         FROM table_bets b
         LEFT JOIN journal j ON j.player_id = b.player_id AND j.command_id = b.command_id
           AND j.round_id IS NULL
         LEFT JOIN table_rounds r ON r.round_id = b.round_id)
       WHERE journalId IS NULL OR roundExists = 0 OR debit != -amount`,
    )
    .iterate();
  for (const row of rows) {
    const name = `invariant 5: round ${row.roundId}: bet ${row.commandId} of player ${row.playerId}`;
    if (row.journalId === null) failures.add(`${name} has no journal entry`);
    else if (row.debit !== -row.amount) {
      failures.add(`${name} of ${row.amount} debited the player ${-row.debit}`);
    }
    if (row.roundExists === 0) failures.add(`${name} is recorded against no such round`);
  }
}

/** Games played at tables: their bets must be recorded against a round (tableWrites.ts). */
const tableGames = [rouletteGameId] as const;

interface UnrecordedBetRow {
  playerId: string;
  commandId: string;
  house: string;
  stake: number;
}

/**
 * Journal entries that debit the player a `bet` and stake it to a table game's house (a table
 * bet's shape, tableWrites.ts) without a recorded bet. Seen from the journal, since a check that
 * starts from the recorded bets cannot find one that is missing. One scan of the postings; each
 * stake to a table house found costs a few seeks.
 */
function checkUnrecordedBets(db: Database, failures: FailureSink): void {
  const houses = tableGames.map(houseAccountOf);
  const rows = db
    .query<UnrecordedBetRow, string[]>(
      `SELECT j.player_id AS playerId, j.command_id AS commandId, h.account AS house,
              SUM(h.amount) AS stake
       FROM postings h JOIN journal j ON j.id = h.journal_id
       WHERE h.account IN (${houses.map(() => "?").join(", ")}) AND h.amount > 0
         AND EXISTS (SELECT 1 FROM postings p WHERE p.journal_id = j.id
                     AND p.account = 'player:' || j.player_id AND p.kind = 'bet')
         AND NOT EXISTS (SELECT 1 FROM table_bets b
                         WHERE b.player_id = j.player_id AND b.command_id = j.command_id)
       GROUP BY j.id, h.account
       ORDER BY j.id`,
    )
    .iterate(...houses);
  for (const row of rows) {
    failures.add(
      `invariant 5: bet ${row.commandId} of player ${row.playerId} stakes ${row.stake} to ` +
        `${row.house} but has no table bet: it is in no round, never settled nor refunded`,
    );
  }
}

/** Invariant 5 over one snapshot; returns the notes for the report (what could not apply yet). */
export function checkTableRounds(db: Database, failures: FailureSink): string[] {
  let failed = 0;
  const counted: FailureSink = {
    add(line) {
      failed += 1;
      failures.add(line);
    },
  };
  checkBets(db, counted);
  checkUnrecordedBets(db, counted);
  const payingOut = checkFinishedRounds(db, counted);
  checkStraySettlements(db, counted);
  const notes: string[] = [];
  const anyBet = db
    .query<{ found: number }, []>("SELECT EXISTS (SELECT 1 FROM table_bets) AS found")
    .get();
  // "Not applicable" only when nothing of invariant 5 failed: a bet with no table bet row is a
  // failure even in a ledger whose table_bets is empty.
  if (anyBet?.found !== 1 && failed === 0)
    notes.push("invariant 5: not applicable: no table bets yet");
  if (payingOut > 0) notes.push(`invariant 5: ${payingOut} finished rounds still paying out`);
  return notes;
}
