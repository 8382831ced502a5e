import { afterAll, expect, test } from "bun:test";
import postgres, { type Sql } from "postgres";
import { runAuditCli } from "../../testing/auditRun.ts";
import { createTestDatabase, type TestDatabase } from "../../testing/postgresTestDb.ts";
import { auditExitCodes } from "../auditCli.ts";
import { depositWrite } from "../ledgerContract.ts";
import { openPostgresLedger } from "./postgresLedger.ts";
import { migrations, schemaVersion } from "./schema.ts";
import { testLedgerOptions } from "./testing/testLedger.ts";

/**
 * `npm run audit` with DATABASE_URL reads the ledger and changes nothing: pointed at a database
 * without the ledger's tables, or with another version of them, it stops with exit 2 and says
 * why, and the database is as it was. Each case runs the CLI as its own process on a database of
 * its own (the CLI audits the default schema).
 */

const availability = await createTestDatabase();
/** Every database made here, dropped after the run. */
const databases: TestDatabase[] =
  availability.database === undefined ? [] : [availability.database];
/** The database made up front (to learn whether Postgres is there) goes to the first test. */
const unused = [...databases];
afterAll(() => Promise.all(databases.map((database) => database.drop())));

async function freshDatabase(): Promise<TestDatabase> {
  const spare = unused.pop();
  if (spare !== undefined) return spare;
  const { database, skipReason } = await createTestDatabase();
  if (database === undefined) throw new Error(skipReason);
  databases.push(database);
  return database;
}

async function withConnection<T>(url: string, body: (sql: Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await body(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** The tables and functions in the default schema, by name: what the audit must leave alone. */
function publicObjects(url: string): Promise<string[]> {
  return withConnection(url, async (sql) => {
    const rows = await sql<{ name: string }[]>`
      SELECT c.relname::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public'
      UNION ALL
      SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public'
      ORDER BY 1`;
    return rows.map((row) => row.name);
  });
}

function appliedVersions(url: string): Promise<number[]> {
  return withConnection(url, async (sql) =>
    (
      await sql<{ version: number }[]>`SELECT version FROM croupier_migrations ORDER BY version`
    ).map((row) => row.version),
  );
}

/** A ledger as an older build left it: the first `version` migrations applied. */
async function ledgerAtVersion(url: string, version: number): Promise<void> {
  await withConnection(url, (sql) =>
    sql.begin(async (tx) => {
      await tx`CREATE TABLE croupier_migrations (
        version integer PRIMARY KEY, name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())`;
      for (const migration of migrations.slice(0, version)) {
        await tx.unsafe(migration.sql);
        await tx`INSERT INTO croupier_migrations (version, name)
          VALUES (${migration.version}, ${migration.name})`;
      }
    }),
  );
}

/** A current ledger with one deposit, written by a node's ledger in the default schema. */
async function currentLedger(url: string): Promise<void> {
  const ledger = await openPostgresLedger({ ...testLedgerOptions, url });
  try {
    await ledger.write(depositWrite("p1", 1, "d1", 500));
  } finally {
    await ledger.close();
  }
}

if (availability.database === undefined) {
  test.skip(`postgres audit command - ${availability.skipReason}`, () => {});
} else {
  test("postgres audit command - an empty database is exit 2, and stays empty", async () => {
    const { url, name } = await freshDatabase();
    const before = await publicObjects(url);
    const run = runAuditCli({ databaseUrl: url });
    expect(run.exit).toBe(auditExitCodes.error);
    expect(run.report).toBe(
      `audit could not run on database ${name}: schema public holds no Croupier ledger ` +
        "(no croupier_migrations table) (the audit never creates or migrates the ledger's tables)",
    );
    expect(await publicObjects(url)).toEqual(before);
  });

  test("postgres audit command - a ledger at an older version is exit 2, and is not upgraded", async () => {
    const { url } = await freshDatabase();
    await ledgerAtVersion(url, schemaVersion - 1);
    const before = await publicObjects(url);
    const run = runAuditCli({ databaseUrl: url });
    expect(run.exit).toBe(auditExitCodes.error);
    expect(run.report).toContain(`this build's ledger is version ${schemaVersion}`);
    expect(await publicObjects(url)).toEqual(before);
    expect(await appliedVersions(url)).toEqual(
      migrations.slice(0, schemaVersion - 1).map((migration) => migration.version),
    );
  });

  test("postgres audit command - a ledger newer than this build is exit 2", async () => {
    const { url } = await freshDatabase();
    await currentLedger(url);
    await withConnection(
      url,
      (sql) => sql`INSERT INTO croupier_migrations (version, name)
        VALUES (${schemaVersion + 1}, 'from a newer build')`,
    );
    const run = runAuditCli({ databaseUrl: url });
    expect(run.exit).toBe(auditExitCodes.error);
    expect(run.report).toContain(
      `is at version ${schemaVersion + 1}, newer than this build's ${schemaVersion}`,
    );
  });

  test("postgres audit command - a current ledger is audited: exit 0, nothing changed", async () => {
    const { url } = await freshDatabase();
    await currentLedger(url);
    const before = await publicObjects(url);
    const run = runAuditCli({ databaseUrl: url });
    expect(run.report).toContain("1 players, 1 commands, 2 postings");
    expect(run.exit).toBe(auditExitCodes.ok);
    expect(await publicObjects(url)).toEqual(before);
  });
}
