import { expect, test } from "bun:test";
import postgres from "postgres";
import { createTestDatabase, defaultTestDatabaseUrl } from "../../testing/postgresTestDb.ts";

/** The per-run test database: created and dropped, skipped only when allowed. */

/** A port nothing listens on: the kernel refuses at once. */
async function deadUrl(): Promise<string> {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return `postgres://postgres@127.0.0.1:${port}/test`;
}

test("test database - nothing listening and no URL set: skipped, naming the Debian package", async () => {
  const availability = await createTestDatabase({}, await deadUrl());
  expect(availability.database).toBeUndefined();
  expect(availability.skipReason).toContain("Debian package postgresql");
});

test("test database - CROUPIER_REQUIRE_SERVICES=1 turns the skip into a failure", async () => {
  const dead = await deadUrl();
  await expect(createTestDatabase({ CROUPIER_REQUIRE_SERVICES: "1" }, dead)).rejects.toThrow(
    /CROUPIER_REQUIRE_SERVICES=1/,
  );
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
  const admin = postgres(process.env.DATABASE_TEST_URL ?? defaultTestDatabaseUrl, {
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
