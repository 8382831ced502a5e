import { describe, expect, test } from "bun:test";
import { balanceOf, http, newSession, startTestNode } from "./harness.ts";

const operatorKey = "test-operator-key-0123456789";

describe("cash", () => {
  test("cash - deposits and withdrawals are idempotent and never overdraw", async () => {
    await using node = await startTestNode({ startingBalance: 0 });
    const { token, playerId } = await newSession(node);
    const deposit = (id: string, amount: number) =>
      http(node, "POST", "/v1/wallet/deposit", { token, body: { playerId, amount, id } });
    const withdraw = (id: string, amount: number) =>
      http(node, "POST", "/v1/wallet/withdraw", { token, body: { playerId, amount, id } });
    expect(await deposit("d1", 1_000)).toEqual({ status: 200, body: { balance: 1_000 } });
    expect(await deposit("d1", 1_000)).toEqual({ status: 200, body: { balance: 1_000 } });
    expect((await deposit("d1", 2_000)).body.error.code).toBe("IDEMPOTENCY_CONFLICT");
    expect(await withdraw("w1", 400)).toEqual({ status: 200, body: { balance: 600 } });
    expect(await withdraw("w1", 400)).toEqual({ status: 200, body: { balance: 600 } });
    const overdraw = await withdraw("w2", 601);
    expect(overdraw.status).toBe(409);
    expect(overdraw.body.error.code).toBe("INSUFFICIENT_FUNDS");
    expect(await balanceOf(node, token)).toBe(600);
    // The refused id stays unused.
    expect(await withdraw("w2", 600)).toEqual({ status: 200, body: { balance: 0 } });
    // An id is shared across command kinds: reusing a deposit's id for a withdrawal conflicts.
    expect((await withdraw("d1", 1)).body.error.code).toBe("IDEMPOTENCY_CONFLICT");
    const history = await http(node, "GET", "/v1/wallet/history?limit=2", { token });
    expect(
      history.body.entries.map(
        (e: { id: string; kind: string; amount: number; balanceAfter: number }) => [
          e.id,
          e.kind,
          e.amount,
          e.balanceAfter,
        ],
      ),
    ).toEqual([
      ["w2", "withdrawal", -600, 0],
      ["w1", "withdrawal", -400, 600],
    ]);
    const older = await http(
      node,
      "GET",
      `/v1/wallet/history?limit=2&before=${history.body.next}`,
      { token },
    );
    expect(older.body.entries.map((e: { id: string }) => e.id)).toEqual(["d1"]);
    expect(older.body.next).toBeNull();
  });

  test("cash - a deposit that would take the balance past 2^53-1 is LIMIT_EXCEEDED and moves nothing", async () => {
    await using node = await startTestNode({ startingBalance: 0 });
    const { token, playerId } = await newSession(node);
    const half = 2 ** 52;
    const first = await http(node, "POST", "/v1/wallet/deposit", {
      token,
      body: { playerId, amount: half, id: "big-1" },
    });
    expect(first).toEqual({ status: 200, body: { balance: half } });
    const second = await http(node, "POST", "/v1/wallet/deposit", {
      token,
      body: { playerId, amount: half, id: "big-2" },
    });
    expect(second.status).toBe(400);
    expect(second.body.error.code).toBe("LIMIT_EXCEEDED");
    expect(await balanceOf(node, token)).toBe(half);
    // The id stays unused: the same id with another amount is a new request, not a conflict.
    const smaller = await http(node, "POST", "/v1/wallet/deposit", {
      token,
      body: { playerId, amount: 1, id: "big-2" },
    });
    expect(smaller).toEqual({ status: 200, body: { balance: half + 1 } });
  });

  test("cash - concurrent withdrawals never take the balance below zero", async () => {
    await using node = await startTestNode({ startingBalance: 0 });
    const { token, playerId } = await newSession(node);
    await http(node, "POST", "/v1/wallet/deposit", {
      token,
      body: { playerId, amount: 1_000, id: "fund" },
    });
    const attempts = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        http(node, "POST", "/v1/wallet/withdraw", {
          token,
          body: { playerId, amount: 100, id: `cw-${i}` },
        }),
      ),
    );
    expect(attempts.filter((a) => a.status === 200)).toHaveLength(10);
    expect(attempts.filter((a) => a.status === 409)).toHaveLength(20);
    expect(await balanceOf(node, token)).toBe(0);
  });

  test("cash - operator mode: sessions and money need the operator key; a player token gets 403", async () => {
    await using node = await startTestNode({}, { OPERATOR_KEY: operatorKey });
    expect((await http(node, "POST", "/v1/sessions", { body: { playerId: "op-1" } })).status).toBe(
      401,
    );
    const { token, playerId } = await newSession(node, "op-1", operatorKey);
    expect(await balanceOf(node, token)).toBe(0); // no starting credit outside dev mode
    const asPlayer = await http(node, "POST", "/v1/wallet/deposit", {
      token,
      body: { playerId, amount: 500, id: "op-d1" },
    });
    expect(asPlayer.status).toBe(403);
    expect(asPlayer.body.error.code).toBe("FORBIDDEN");
    expect(
      (await http(node, "POST", "/v1/sessions", { token, body: { playerId: "op-2" } })).status,
    ).toBe(403);
    const asOperator = await http(node, "POST", "/v1/wallet/deposit", {
      token: operatorKey,
      body: { playerId, amount: 500, id: "op-d1" },
    });
    expect(asOperator).toEqual({ status: 200, body: { balance: 500 } });
    const withdrawal = await http(node, "POST", "/v1/wallet/withdraw", {
      token: operatorKey,
      body: { playerId, amount: 200, id: "op-w1" },
    });
    expect(withdrawal).toEqual({ status: 200, body: { balance: 300 } });
    expect(await balanceOf(node, token)).toBe(300);
  });
});
