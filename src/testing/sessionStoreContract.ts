import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import type { SessionStore } from "../net/sessions.ts";
import { waitFor } from "./waitFor.ts";

/**
 * The behaviour every SessionStore backend must show, as a reusable bun:test suite. `open`
 * returns a fresh store, ready to use; each test gets its own and it is closed after the test.
 * `name` starts every test name ("<name> - <behaviour>").
 */
export function describeSessionStoreContract(
  name: string,
  open: () => Promise<SessionStore>,
): void {
  describe(`${name} contract`, () => {
    let store: SessionStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    test(`${name} - a created session is found by its token`, async () => {
      const beforeMs = Date.now();
      const session = await store.create("player-1", 60_000);
      const afterMs = Date.now();
      expect(session.playerId).toBe("player-1");
      expect(session.token).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes, base64url
      expect(session.expiresAt).toBeGreaterThanOrEqual(beforeMs + 60_000);
      expect(session.expiresAt).toBeLessThanOrEqual(afterMs + 60_000);
      expect(await store.find(session.token)).toEqual(session);
    });

    test(`${name} - an unknown token finds nothing`, async () => {
      await store.create("player-1", 60_000);
      expect(await store.find("no-such-token")).toBeUndefined();
    });

    test(`${name} - every session gets a distinct token`, async () => {
      const sessions = await Promise.all(
        Array.from({ length: 20 }, () => store.create("player-1", 60_000)),
      );
      expect(new Set(sessions.map((s) => s.token)).size).toBe(20);
    });

    test(`${name} - a revoked token finds nothing and listeners hear of it before revoke resolves`, async () => {
      const revoked: string[] = [];
      store.onRevoked((token) => revoked.push(token));
      const gone = await store.create("player-1", 60_000);
      const kept = await store.create("player-1", 60_000);
      await store.find(gone.token); // cached where the backend caches
      await store.revoke(gone.token);
      expect(revoked).toEqual([gone.token]);
      expect(await store.find(gone.token)).toBeUndefined();
      expect(await store.find(kept.token)).toEqual(kept);
    });

    test(`${name} - a listener that unsubscribed hears nothing`, async () => {
      const heard: string[] = [];
      const unsubscribe = store.onRevoked((token) => heard.push(token));
      unsubscribe();
      const session = await store.create("player-1", 60_000);
      await store.revoke(session.token);
      expect(heard).toEqual([]);
    });

    test(`${name} - revoking an unknown token resolves`, async () => {
      await store.revoke("no-such-token");
      expect(await store.find("no-such-token")).toBeUndefined();
    });

    test(`${name} - a session stops working when its ttl has passed, not before`, async () => {
      const ttlMs = 150;
      const session = await store.create("player-1", ttlMs);
      expect(await store.find(session.token)).toEqual(session);
      await waitFor(
        async () => (await store.find(session.token)) === undefined,
        5_000,
        "the session to expire",
      );
      // Expired no earlier than its expiresAt (1 ms of slack for clock rounding).
      expect(Date.now()).toBeGreaterThanOrEqual(session.expiresAt - 1);
    });

    test(`${name} - healthy while its backend is up`, () => {
      expect(store.healthy()).toBe(true);
    });
  });
}
