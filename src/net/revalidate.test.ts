import { describe, expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import { revalidateSockets } from "./revalidate.ts";
import { MemorySessionStore } from "./sessions.ts";
import { SocketRegistry } from "./socketRegistry.ts";
import { SocketSession } from "./socketSession.ts";

/** A stand-in for Bun's socket that records how it was closed (pure unit: no network here). */
function fakeSocket(): { ws: ServerWebSocket<unknown>; closedWith: () => number | undefined } {
  let code: number | undefined;
  const ws = {
    send: () => 1,
    ping: () => 1,
    close: (c: number) => (code = c),
  } as unknown as ServerWebSocket<unknown>;
  return { ws, closedWith: () => code };
}

describe("revalidate", () => {
  test("revalidate - closes sockets whose session is gone or whose player is excluded, keeps the rest", async () => {
    const sessions = new MemorySessionStore(100);
    const registry = new SocketRegistry();
    const live = await sessions.create("alice", 60_000);
    const excluded = await sessions.create("bob", 60_000);
    const revoked = await sessions.create("carol", 60_000);
    const sockets = [live, excluded, revoked].map((session, i) => {
      const fake = fakeSocket();
      registry.add(
        new SocketSession(`s${i}`, session.playerId, session.token, fake.ws, Date.now()),
      );
      return fake;
    });
    await sessions.revoke(revoked.token);
    const closed = await revalidateSockets(
      registry,
      sessions,
      2,
      async (playerId) => playerId === "bob",
    );
    expect(closed).toBe(2);
    expect(sockets.map((s) => s.closedWith())).toEqual([undefined, 4001, 4001]);
  });
});
