import { describe, expect, test } from "bun:test";
import { CroupierClient, type ServerMessage } from "../src/client/client.ts";
import { waitFor } from "../src/testing/waitFor.ts";
import { http, newSession, startTestNode } from "./harness.ts";
import { fastTable } from "./tableHelpers.ts";

describe("client", () => {
  test("client - a retry after the socket dropped reconnects with lastSeq and gets the stored reply", async () => {
    await using node = await startTestNode();
    const { token } = await newSession(node);
    const delivered: number[] = [];
    const client = new CroupierClient({
      baseUrl: node.wsUrl,
      token,
      onSequenced: (m) => delivered.push(m.seq as number),
    });
    await client.connect();
    const first = await client.spin(100, "retry-me");
    client.close();
    const again = await client.commandWithRetry({
      type: "spin",
      id: "retry-me",
      game: "slot",
      bet: 100,
    });
    expect(again).toEqual(first);
    // Delivered to the application once: not again by the retry's reply nor by the replay.
    expect(delivered.filter((seq) => seq === first.seq)).toHaveLength(1);
    client.close();
  });

  test("client - joins a table, bets with a client seed, sees the result and its payout", async () => {
    await using node = await startTestNode({ tables: [fastTable("t-client")] });
    const { token } = await newSession(node);
    const events: ServerMessage[] = [];
    const sequenced: ServerMessage[] = [];
    const client = new CroupierClient({
      baseUrl: node.wsUrl,
      token,
      onEvent: (m) => events.push(m),
      onSequenced: (m) => sequenced.push(m),
    });
    await client.connect();
    const joined = await client.joinTable("t-client");
    expect(joined.type).toBe("table.joined");
    const accepted = await client.tableBet("t-client", { kind: "dozen", n: 2 }, 30, {
      clientSeed: "mine",
    });
    expect(accepted.type).toBe("table.bet.accepted");
    await waitFor(
      () => sequenced.some((m) => m.type === "table.payout" && m.roundId === accepted.roundId),
      10_000,
      "the payout",
    );
    const closed = events.find(
      (m) => m.type === "table.round.closed" && m.roundId === accepted.roundId,
    );
    expect(closed?.clientSeeds).toEqual(["mine"]);
    expect(
      events.some((m) => m.type === "table.round.result" && m.roundId === accepted.roundId),
    ).toBe(true);
    expect((await client.leaveTable("t-client")).type).toBe("table.left");
    client.close();
  });

  test("client - operator-key requests are not limited per address", async () => {
    const operatorKey = "client-test-operator-key-0123";
    await using node = await startTestNode(
      { sessionsPerSecondPerIp: 1, sessionBurstPerIp: 1 },
      { OPERATOR_KEY: operatorKey },
    );
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(
        (
          await http(node, "POST", "/v1/sessions", {
            token: operatorKey,
            body: { playerId: `op-${i}` },
          })
        ).status,
      );
    }
    expect(statuses).toEqual([201, 201, 201, 201, 201]);
  });
});
