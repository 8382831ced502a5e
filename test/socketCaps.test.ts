import { afterAll, describe, expect, test } from "bun:test";
import {
  defaultSocketsMax,
  descriptorsReservedForOther,
  openFilesLimit,
} from "../config/openFiles.ts";
import { removeDataDirs } from "../src/store/embedded/testing/tempLedger.ts";
import { waitFor } from "../src/testing/waitFor.ts";
import { newSession, startTestNode, upgradeRequest } from "./harness.ts";
import { RawWebSocket } from "./rawWebSocket.ts";

afterAll(removeDataDirs);

/** The answer to an upgrade request (a test only sends it where it is refused). */
async function upgradeStatus(
  node: { httpUrl: string },
  token: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; code: string | undefined }> {
  const response = await upgradeRequest(node, `?token=${token}`, headers);
  const body = response.status === 101 ? undefined : ((await response.json()) as any);
  return { status: response.status, code: body?.error?.code };
}

describe("socket caps", () => {
  test("socket caps - past SOCKETS_MAX an upgrade gets 503 BUSY before any socket exists, and room comes back", async () => {
    await using node = await startTestNode({ socketsMax: 2 });
    const players = await Promise.all([newSession(node), newSession(node), newSession(node)]);
    const open = await Promise.all(
      players.slice(0, 2).map(({ token }) => RawWebSocket.open(node.port, `/v1/ws?token=${token}`)),
    );
    await waitFor(() => node.context.sockets.size === 2, 5_000, "two sockets registered");
    expect(await upgradeStatus(node, players[2]?.token as string)).toEqual({
      status: 503,
      code: "BUSY",
    });
    expect(node.context.sockets.size).toBe(2);
    open[0]?.destroy();
    await waitFor(() => node.context.sockets.size === 1, 5_000, "the closed socket to go");
    const third = await RawWebSocket.open(node.port, `/v1/ws?token=${players[2]?.token}`);
    await waitFor(() => node.context.sockets.size === 2, 5_000, "the third socket registered");
    third.destroy();
    open[1]?.destroy();
  });

  test("socket caps - one address holds at most SOCKETS_PER_ADDRESS_MAX sockets; other addresses are not affected", async () => {
    await using node = await startTestNode(
      { socketsPerAddressMax: 2 },
      { TRUSTED_PROXIES: "127.0.0.1" },
    );
    const from = (address: string) => ({ "x-forwarded-for": address });
    const players = await Promise.all(Array.from({ length: 4 }, () => newSession(node)));
    const [a, b, c, d] = players.map((player) => `/v1/ws?token=${player.token}`) as string[];
    const first = await RawWebSocket.open(node.port, a as string, from("203.0.113.5"));
    const second = await RawWebSocket.open(node.port, b as string, from("203.0.113.5"));
    await waitFor(() => node.context.sockets.size === 2, 5_000, "two sockets registered");
    expect(await upgradeStatus(node, players[2]?.token as string, from("203.0.113.5"))).toEqual({
      status: 429,
      code: "RATE_LIMITED",
    });
    const elsewhere = await RawWebSocket.open(node.port, d as string, from("198.51.100.7"));
    await waitFor(() => node.context.sockets.size === 3, 5_000, "the other address's socket");
    expect(c).toBeDefined();
    for (const socket of [first, second, elsewhere]) socket.destroy();
  });

  test("socket caps - SOCKETS_MAX defaults to what the open-files limit leaves", () => {
    const limits =
      "Limit                     Soft Limit           Hard Limit           Units\nMax open files            20000                524288               files\n";
    expect(openFilesLimit(limits)).toBe(20_000);
    expect(defaultSocketsMax(20_000)).toBe(20_000 - descriptorsReservedForOther);
    // A small limit: half of it, not what little the reserve would leave.
    expect(defaultSocketsMax(1_024)).toBe(512);
    expect(defaultSocketsMax(1_500)).toBe(750);
    expect(
      openFilesLimit("Max open files            unlimited            unlimited            files"),
    ).toBeUndefined();
    expect(defaultSocketsMax(undefined)).toBe(50_000);
  });
});
