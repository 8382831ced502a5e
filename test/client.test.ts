import { describe, expect, test } from "bun:test";
import { CroupierClient } from "../src/client/client.ts";
import { http, newSession, startTestNode } from "./harness.ts";

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
