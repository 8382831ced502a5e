import postgres from "postgres";
import {
  sharedThrowawayPostgres,
  type ThrowawayPostgresAvailability,
} from "./throwawayPostgres.ts";

/**
 * A Postgres database of its own for one test suite: created on the server named by
 * DATABASE_TEST_URL, else on a throwaway server this process starts on a free port (once,
 * shared by all its suites, stopped at exit; see throwawayPostgres.ts), and dropped after.
 *
 * With no DATABASE_TEST_URL and Postgres not installed the tests are skipped with a message
 * naming the Debian package (a developer without Postgres can still run the rest), unless
 * CROUPIER_REQUIRE_SERVICES=1: CI sets it so that a missing service fails the run instead of
 * passing it silently. An explicit DATABASE_TEST_URL that does not answer always fails, and so
 * does an installed Postgres that cannot be started.
 */

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

/**
 * `throwawayServer` is for this module's own tests: where the server comes from when
 * DATABASE_TEST_URL is unset.
 */
export async function createTestDatabase(
  env: Record<string, string | undefined> = process.env,
  throwawayServer: () => Promise<ThrowawayPostgresAvailability> = sharedThrowawayPostgres,
): Promise<TestDatabaseAvailability> {
  const explicitUrl = env.DATABASE_TEST_URL || undefined;
  const required = env.CROUPIER_REQUIRE_SERVICES === "1";
  let baseUrl: string;
  if (explicitUrl !== undefined) {
    baseUrl = explicitUrl;
  } else {
    const server = await throwawayServer();
    if (server.url === undefined) {
      if (required) {
        throw new Error(`${server.skipReason}; CROUPIER_REQUIRE_SERVICES=1 forbids skipping`);
      }
      return { skipReason: server.skipReason };
    }
    baseUrl = server.url;
  }
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
    throw new Error(
      `Postgres at ${withoutPassword(baseUrl)} did not answer (${code}: ${String(error)})`,
      { cause: error },
    );
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
