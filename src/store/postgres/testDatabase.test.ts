import { expect, test } from "bun:test";
import postgres from "postgres";
import { createTestDatabase } from "../../testing/postgresTestDb.ts";
import { findPostgresBinaries } from "../../testing/throwawayPostgres.ts";

/** The per-run test database: created and dropped, skipped only when allowed. */

/** What the throwaway server answers when Postgres is not installed. */
const notInstalled = async () => ({
  skipReason: "Postgres is not installed. Install the Debian package postgresql",
});

/** A port nothing listens on: the kernel refuses at once. */
async function deadUrl(): Promise<string> {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return `postgres://postgres@127.0.0.1:${port}/test`;
}

test("test database - Postgres not installed and no URL set: skipped, naming the Debian package", async () => {
  const availability = await createTestDatabase({}, notInstalled);
  expect(availability.database).toBeUndefined();
  expect(availability.skipReason).toContain("Debian package postgresql");
});

test("test database - CROUPIER_REQUIRE_SERVICES=1 turns the skip into a failure", async () => {
  await expect(
    createTestDatabase({ CROUPIER_REQUIRE_SERVICES: "1" }, notInstalled),
  ).rejects.toThrow(/CROUPIER_REQUIRE_SERVICES=1/);
});

test("test database - an explicit DATABASE_TEST_URL that does not answer fails", async () => {
  await expect(createTestDatabase({ DATABASE_TEST_URL: await deadUrl() })).rejects.toThrow(
    /did not answer/,
  );
});

test("test database - a fresh database of its own, dropped after", async () => {
  const availability = await createTestDatabase();
  if (availability.database === undefined) {
    console.warn(availability.skipReason);
    return;
  }
  const { database } = availability;
  expect(database.name).toMatch(/^croupier_test_[0-9a-f]{12}$/);
  const admin = postgres(database.adminUrl, {
    max: 1,
    onnotice: () => {},
  });
  try {
    const exists = () => admin`SELECT 1 FROM pg_database WHERE datname = ${database.name}`;
    expect(await exists()).toHaveLength(1);
    await database.drop();
    expect(await exists()).toHaveLength(0);
  } finally {
    await admin.end({ timeout: 1 });
  }
});

test.if(findPostgresBinaries() !== undefined)(
  "test database - no DATABASE_TEST_URL: created on the process's throwaway server",
  async () => {
    const first = await createTestDatabase({});
    const second = await createTestDatabase({});
    try {
      const { database } = first;
      if (database === undefined) throw new Error(String(first.skipReason));
      const adminPort = new URL(database.adminUrl).port;
      expect(adminPort).not.toBe("");
      // One server per process: both databases live on it.
      expect(second.database?.adminUrl).toBe(database.adminUrl);
      const client = postgres(database.url, { max: 1, onnotice: () => {} });
      try {
        const [row] =
          await client`SELECT current_database() AS name, current_setting('fsync') AS fsync`;
        expect(row).toEqual({ name: database.name, fsync: "on" });
      } finally {
        await client.end({ timeout: 1 });
      }
    } finally {
      await first.database?.drop();
      await second.database?.drop();
    }
  },
);
