import postgres from "postgres";

/**
 * A Postgres database of its own for one test run: created on the server named by
 * DATABASE_TEST_URL (default: the local server's `test` database as `postgres`), dropped after.
 *
 * With no DATABASE_TEST_URL and nothing listening at the default address the tests are skipped
 * (a developer without Postgres can still run the rest), unless CROUPIER_REQUIRE_SERVICES=1: CI
 * sets it so that a missing service fails the run instead of passing it silently. An explicit
 * DATABASE_TEST_URL that does not answer always fails.
 */

export const defaultTestDatabaseUrl = "postgres://postgres@127.0.0.1:5432/test";

export interface TestDatabase {
  /** URL of the fresh database. */
  url: string;
  name: string;
  /** URL of the database it was created from, for statements about the fresh one (ALTER). */
  adminUrl: string;
  /** Drops the database, cutting off any connection still open to it. */
  drop(): Promise<void>;
}

export type TestDatabaseAvailability =
  | { database: TestDatabase; skipReason?: undefined }
  | { database?: undefined; skipReason: string };

/** Errors that mean nothing answers at the address (as opposed to a server that refuses us). */
const nothingListensCodes: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "CONNECT_TIMEOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
]);

const connectTimeoutSeconds = 3;

function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== "") parsed.password = "***";
  return parsed.toString();
}

function databaseUrl(baseUrl: string, name: string): string {
  const parsed = new URL(baseUrl);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

/** `defaultUrl` is for this module's own tests: where to look when DATABASE_TEST_URL is unset. */
export async function createTestDatabase(
  env: Record<string, string | undefined> = process.env,
  defaultUrl = defaultTestDatabaseUrl,
): Promise<TestDatabaseAvailability> {
  const explicitUrl = env.DATABASE_TEST_URL;
  const baseUrl = explicitUrl ?? defaultUrl;
  const required = env.CROUPIER_REQUIRE_SERVICES === "1";
  const admin = postgres(baseUrl, {
    max: 1,
    connect_timeout: connectTimeoutSeconds,
    onnotice: () => {},
  });
  try {
    await admin`SELECT 1`;
  } catch (error) {
    await admin.end({ timeout: 0 });
    const code = String((error as { code?: unknown }).code);
    const reason = `Postgres at ${withoutPassword(baseUrl)} did not answer (${code}: ${String(error)})`;
    if (explicitUrl !== undefined || required || !nothingListensCodes.has(code)) {
      throw new Error(
        `${reason}${required ? "; CROUPIER_REQUIRE_SERVICES=1 forbids skipping" : ""}`,
        { cause: error },
      );
    }
    return {
      skipReason:
        `${reason}: Postgres tests skipped. Install the Debian package postgresql ` +
        "(apt-get install postgresql) or set DATABASE_TEST_URL",
    };
  }
  const name = `croupier_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  return {
    database: {
      url: databaseUrl(baseUrl, name),
      name,
      adminUrl: baseUrl,
      async drop() {
        try {
          await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        } finally {
          await admin.end({ timeout: 5 });
        }
      },
    },
  };
}
