import postgres, { type Sql, type TransactionSql } from "postgres";
import type { Ledger } from "../../ledger.ts";
import type { LedgerTamper } from "../../ledgerContract.ts";
import type { PostgresLedgerOptions } from "../options.ts";
import { openPostgresLedger, type PostgresLedger } from "../postgresLedger.ts";

/**
 * Test helpers: Postgres ledgers each in a fresh schema of the run's test database (so every
 * test starts from an empty ledger without creating a database per test), a direct connection
 * to a ledger's schema, and a tamperer for the audit tests.
 */

export const testLedgerOptions = {
  poolSize: 4,
  connectTimeoutMs: 5_000,
  acquireTimeoutMs: 5_000,
  groupCommitWindowMs: 1,
  groupCommitWritesMax: 1_000,
  queueMax: 20_000,
  probeIntervalMs: 100,
  closeTimeoutMs: 10_000,
} satisfies Omit<PostgresLedgerOptions, "url">;

interface Opened {
  url: string;
  schema: string;
}

const opened = new WeakMap<Ledger, Opened>();
let schemaCounter = 0;

export function freshSchema(): string {
  schemaCounter += 1;
  return `t${schemaCounter}_${crypto.randomUUID().slice(0, 8)}`;
}

export async function openTestLedger(
  url: string,
  options: Partial<PostgresLedgerOptions> = {},
): Promise<PostgresLedger> {
  const schema = options.schema ?? freshSchema();
  const ledger = await openPostgresLedger({ ...testLedgerOptions, url, ...options, schema });
  opened.set(ledger, { url, schema });
  return ledger;
}

/** A single connection to the ledger's database and schema, outside the ledger. */
export function directConnection(url: string, schema: string): Sql {
  return postgres(url, {
    max: 1,
    onnotice: () => {},
    connection: { search_path: schema },
  });
}

export function schemaOf(ledger: Ledger): Opened {
  const where = opened.get(ledger);
  if (where === undefined) throw new Error("not a ledger opened by openTestLedger");
  return where;
}

/** Runs `body` on a direct connection to the ledger's schema, then closes it. */
export async function withDirect<T>(ledger: Ledger, body: (sql: Sql) => Promise<T>): Promise<T> {
  const { url, schema } = schemaOf(ledger);
  const sql = directConnection(url, schema);
  try {
    return await body(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

function expectOneRow(count: number): void {
  if (count !== 1) throw new Error(`tamper changed ${count} rows, expected 1`);
}

/**
 * Runs `edit` in a transaction of a superuser session in replica mode, which skips the
 * append-only triggers (postings and journal are append-only for the application), as a faulty
 * tool with too many rights would.
 */
function asTooPowerfulTool<T>(
  ledger: Ledger,
  edit: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  return withDirect(ledger, (sql) =>
    sql.begin(async (tx) => {
      await tx`SET LOCAL session_replication_role = replica`;
      return edit(tx);
    }),
  ) as Promise<T>;
}

export const postgresTamper: LedgerTamper = {
  async skewBalance(ledger, playerId, delta) {
    await withDirect(ledger, async (sql) => {
      const result = await sql`
        UPDATE players SET balance = balance + ${delta} WHERE player_id = ${playerId}`;
      expectOneRow(result.count);
    });
  },
  async unbalanceCommand(ledger, playerId, commandId, delta) {
    // A house/cash posting, so that only the entry's sum breaks, not the player's balance.
    await asTooPowerfulTool(ledger, async (tx) => {
      const result = await tx`
          UPDATE postings SET amount = amount + ${delta}
          WHERE (journal_id, n) = (
            SELECT p.journal_id, min(p.n) FROM postings p JOIN journal j ON j.id = p.journal_id
            WHERE j.player_id = ${playerId} AND j.command_id = ${commandId}
              AND p.balance_after IS NULL
            GROUP BY p.journal_id)`;
      expectOneRow(result.count);
    });
  },
  async negateAllPostings(ledger) {
    await asTooPowerfulTool(ledger, async (tx) => {
      await tx`UPDATE postings SET amount = -amount`;
    });
  },
  async setBalanceAfter(ledger, playerId, commandId, value) {
    await asTooPowerfulTool(ledger, async (tx) => {
      const result = await tx`
          UPDATE postings SET balance_after = ${value}
          WHERE balance_after IS NOT NULL AND journal_id = (
            SELECT id FROM journal WHERE player_id = ${playerId} AND command_id = ${commandId})`;
      expectOneRow(result.count);
    });
  },
  async swapSeqs(ledger, playerId, seqA, seqB) {
    // In three steps: (player_id, seq) is unique at every statement.
    await asTooPowerfulTool(ledger, async (tx) => {
      const parked = 2_000_000_000;
      const steps: [number, number][] = [
        [seqA, parked],
        [seqB, seqA],
        [parked, seqB],
      ];
      for (const [from, to] of steps) {
        const result = await tx`
            UPDATE journal SET seq = ${to} WHERE player_id = ${playerId} AND seq = ${from}`;
        expectOneRow(result.count);
      }
    });
  },
  async renamePostingAccount(ledger, playerId, commandId, from, to) {
    await asTooPowerfulTool(ledger, async (tx) => {
      const result = await tx`
          UPDATE postings SET account = ${to}
          WHERE account = ${from} AND journal_id = (
            SELECT id FROM journal WHERE player_id = ${playerId} AND command_id = ${commandId})`;
      expectOneRow(result.count);
    });
  },
  async setPlayerPostingKind(ledger, playerId, commandId, kind) {
    await asTooPowerfulTool(ledger, async (tx) => {
      // The schema refuses such a row; a tool with the rights to drop the check would not.
      await tx`ALTER TABLE postings DROP CONSTRAINT postings_player_fields`;
      const result = await tx`
          UPDATE postings SET kind = ${kind}
          WHERE account = ${`player:${playerId}`} AND journal_id = (
            SELECT id FROM journal WHERE player_id = ${playerId} AND command_id = ${commandId})`;
      expectOneRow(result.count);
    });
  },
  async addOrphanEntry(ledger, amount) {
    return asTooPowerfulTool(ledger, async (tx) => {
      const [row] = await tx<{ id: string }[]>`
          SELECT (COALESCE(max(id), 0) + 1000)::text AS id FROM journal`;
      const journalId = Number(row?.id ?? 1000);
      await tx`
          INSERT INTO postings (journal_id, n, account, kind, amount, balance_after)
          VALUES (${journalId}, 0, 'house:slot', NULL, ${-amount}, NULL),
                 (${journalId}, 1, 'cash', NULL, ${amount}, NULL)`;
      return journalId;
    });
  },
};
