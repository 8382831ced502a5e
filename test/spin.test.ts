import { describe, expect, test } from "bun:test";
import { CommandFailed } from "../src/client/client.ts";
import {
  balanceOf,
  connectClient,
  http,
  newSession,
  RecordingSocket,
  startTestNode,
} from "./harness.ts";

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CommandFailed) return error.code;
    throw error;
  }
  throw new Error("expected the command to fail");
}

describe("spin", () => {
  test("spin - debits the bet, credits the win, and the reply matches the wallet", async () => {
    await using node = await startTestNode();
    const { token } = await newSession(node);
    const client = await connectClient(node, token);
    const start = client.welcome?.balance ?? 0;
    expect(start).toBe(node.config.startingBalance);
    const result = await client.spin(100, "spin-1");
    expect(result.type).toBe("spin.result");
    expect(result.id).toBe("spin-1");
    expect(result.seq).toBe((client.welcome?.seq ?? 0) + 1);
    const win = result.win as number;
    expect(Number.isSafeInteger(win) && win >= 0).toBe(true);
    expect(result.balance).toBe(start - 100 + win);
    expect(await balanceOf(node, token)).toBe(result.balance as number);
    const round = await http(node, "GET", `/v1/rounds/${result.roundId}`, { token });
    expect(round.status).toBe(200);
    expect(round.body.result.stops).toEqual((result.outcome as { stops: number[] }).stops);
    expect(round.body.win).toBe(win);
    expect(round.body.verified).toBe(true);
    expect(round.body.result.window).toEqual((result.outcome as { window: string[][] }).window);
    expect(round.body.lines).toEqual((result.outcome as { lines: unknown[] }).lines);
    expect(round.body.settlement.balanceAfter).toBe(result.balance as number);
    expect(typeof round.body.paytableVersion).toBe("string");
    const stranger = await newSession(node);
    expect(
      (await http(node, "GET", `/v1/rounds/${result.roundId}`, { token: stranger.token })).status,
    ).toBe(404);
    // Without a token the answer is the same whether the round exists or not.
    for (const roundId of [result.roundId, "no-such-round"])
      expect((await http(node, "GET", `/v1/rounds/${roundId}`)).status).toBe(401);
    client.close();
  });

  test("spin - the same id twice moves money once and returns the same reply", async () => {
    await using node = await startTestNode();
    const { token } = await newSession(node);
    const client = await connectClient(node, token);
    const first = await client.spin(100, "same-id");
    const second = await client.spin(100, "same-id");
    expect(second).toEqual(first);
    expect(await balanceOf(node, token)).toBe(first.balance as number);
    // And from a new connection, still field for field.
    const other = await connectClient(node, token);
    expect(await other.spin(100, "same-id")).toEqual(first);
    const history = await http(node, "GET", "/v1/wallet/history?limit=50", { token });
    expect(
      history.body.entries.filter(
        (e: { id: string; kind: string }) => e.id === "same-id" && e.kind === "bet",
      ),
    ).toHaveLength(1);
    client.close();
    other.close();
  });

  test("spin - 20 concurrent duplicates over two sockets give one debit and one reply content", async () => {
    await using node = await startTestNode();
    const { token } = await newSession(node);
    const a = await RecordingSocket.open(node, token);
    const b = await RecordingSocket.open(node, token);
    const before = await balanceOf(node, token);
    const command = { type: "spin", id: "dup-20", game: "slot", bet: 200 };
    for (let i = 0; i < 10; i++) {
      a.send(command);
      b.send(command);
    }
    const isDup = (m: { id?: string }) => m.id === "dup-20";
    const [repliesA, repliesB] = await Promise.all([
      a.waitForCount(isDup, 10),
      b.waitForCount(isDup, 10),
    ]);
    const all = [...(repliesA ?? []), ...(repliesB ?? [])];
    expect(new Set(all.map((r) => JSON.stringify(r))).size).toBe(1);
    const reply = all[0];
    expect(reply.type).toBe("spin.result");
    expect(await balanceOf(node, token)).toBe(before - 200 + reply.win);
    const history = await http(node, "GET", "/v1/wallet/history?limit=50", { token });
    expect(history.body.entries.filter((e: { kind: string }) => e.kind === "bet")).toHaveLength(1);
    // 20 replies, plus the sequenced message once on the socket that did not run the original.
    const ping = { type: "ping", id: "after" };
    a.send(ping);
    b.send(ping);
    await a.waitFor((m) => m.id === "after");
    await b.waitFor((m) => m.id === "after");
    expect(a.messages.filter(isDup).length + b.messages.filter(isDup).length).toBe(21);
    a.close();
    b.close();
  });

  test("spin - an id reused with other parameters is IDEMPOTENCY_CONFLICT and moves nothing", async () => {
    await using node = await startTestNode();
    const { token } = await newSession(node);
    const client = await connectClient(node, token);
    const first = await client.spin(100, "conflict-1");
    expect(await failure(client.spin(200, "conflict-1"))).toBe("IDEMPOTENCY_CONFLICT");
    expect(await balanceOf(node, token)).toBe(first.balance as number);
    client.close();
  });

  test("spin - insufficient funds moves nothing and leaves the id unused", async () => {
    await using node = await startTestNode({ startingBalance: 100 });
    const { token, playerId } = await newSession(node);
    const client = await connectClient(node, token);
    expect(await failure(client.spin(200, "too-big"))).toBe("INSUFFICIENT_FUNDS");
    expect(await balanceOf(node, token)).toBe(100);
    const deposit = await http(node, "POST", "/v1/wallet/deposit", {
      token,
      body: { playerId, amount: 1000, id: "topup" },
    });
    expect(deposit.status).toBe(200);
    const retried = await client.spin(200, "too-big");
    expect(retried.type).toBe("spin.result");
    expect(retried.balance).toBe(1100 - 200 + (retried.win as number));
    client.close();
  });
});
