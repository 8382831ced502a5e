import postgres from "postgres";
import type { AuditReport } from "../ledger.ts";
import { auditPostgresLedger } from "./audit.ts";
import { postgresLedgerDefaults } from "./options.ts";
import { assertSchemaCurrent } from "./schema.ts";

/**
 * The audit of a Postgres ledger from outside any node (`npm run audit`): one session, read-only
 * by its own settings (default_transaction_read_only), no migrations, no pool, no group commit.
 * The schema must be exactly this build's (LedgerSchemaError otherwise): an audit that created or
 * upgraded the tables would report OK on a database holding no ledger, and change a ledger under
 * the nodes running it.
 */

export interface AuditDatabaseOptions {
  url: string;
  /** Bound on establishing the connection. */
  connectTimeoutMs: number;
}

export async function auditPostgresDatabase(options: AuditDatabaseOptions): Promise<AuditReport> {
  const { schema } = postgresLedgerDefaults;
  // One connection: the audit sends its own BEGIN, which postgres.js allows only there.
  const sql = postgres(options.url, {
    max: 1,
    connect_timeout: options.connectTimeoutMs / 1_000,
    idle_timeout: 0,
    onnotice: () => {},
    connection: {
      application_name: "croupier-audit",
      search_path: schema,
      default_transaction_read_only: true,
    },
  });
  try {
    await assertSchemaCurrent(sql, schema);
    return await auditPostgresLedger(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
