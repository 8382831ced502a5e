import { afterAll, describe, expect, test } from "bun:test";
import {
  CommandFailed,
  CommandTimeout,
  CroupierClient,
  type ServerMessage,
} from "../src/client/client.ts";
import { openTempLedger, removeDataDirs } from "../src/store/embedded/testing/tempLedger.ts";
import { waitFor } from "../src/testing/waitFor.ts";
import {
  holdSeats,
  holdWrites,
  http,
  newSession,
  RecordingSocket,
  startTestNode,
} from "./harness.ts";
import { fastTable } from "./tableHelpers.ts";

afterAll(removeDataDirs);

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

  test("client - a connect that times out closes its socket", async () => {
    // The welcome waits for the player actor, busy with a held spin.
    const held = holdWrites(await openTempLedger());
    await using node = await startTestNode({}, {}, { ledger: held.ledger });
    const { token } = await newSession(node);
    const busy = await RecordingSocket.open(node, token);
    held.hold("slow");
    busy.send({ type: "spin", id: "slow", game: "slot", bet: 100 });
    await held.reached("slow");
    const client = new CroupierClient({ baseUrl: node.wsUrl, token });
    await expect(client.connect(200)).rejects.toBeInstanceOf(CommandTimeout);
    await waitFor(() => node.context.sockets.size === 1, 5_000, "the given-up socket to close");
    held.release("slow");
    busy.close();
  });

  test("client - a join refused BUSY is not sent again: only spins, table bets and pings are retried", async () => {
    const table = "t-retry";
    const seats = holdSeats(await openTempLedger());
    await using node = await startTestNode(
      { tables: [fastTable(table)], tableMailboxCapacity: 1 },
      {},
      { ledger: seats.ledger },
    );
    // Another player's join holds the table's turn, and an ask fills its one mailbox slot.
    seats.hold();
    const other = await RecordingSocket.open(node, (await newSession(node)).token);
    other.send({ type: "table.join", id: "j-other", table });
    await seats.reached();
    const waiting = node.context.askTable(table, { type: "summary" });
    const client = new CroupierClient({
      baseUrl: node.wsUrl,
      token: (await newSession(node)).token,
    });
    await client.connect();
    const join = client.commandWithRetry({ type: "table.join", id: "j-once", table });
    await expect(join).rejects.toMatchObject({ code: "BUSY" });
    expect(await join.catch((error) => error)).toBeInstanceOf(CommandFailed);
    const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text();
    expect(metrics).toContain('croupier_commands_total{code="BUSY",type="table.join"} 1\n');
    seats.release();
    await waiting;
    expect((await other.waitFor((m) => m.id === "j-other")).type).toBe("table.joined");
    other.close();
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
