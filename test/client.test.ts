import { afterAll, describe, expect, test } from "bun:test";
import {
  CommandFailed,
  CommandTimeout,
  CroupierClient,
  type ServerMessage,
} from "../src/client/client.ts";
import { openTempLedger, removeDataDirs } from "../src/store/embedded/testing/tempLedger.ts";
import { TcpRelay } from "../src/testing/tcpRelay.ts";
import { waitFor } from "../src/testing/waitFor.ts";
import {
  holdSeats,
  holdWrites,
  http,
  newSession,
  RecordingSocket,
  startTestNode,
  type TestNode,
} from "./harness.ts";
import { fastTable } from "./tableHelpers.ts";

afterAll(removeDataDirs);

/** A new player's client (not yet connected) and the seqs it delivers to the application. */
async function recordingClient(node: { httpUrl: string; wsUrl: string }) {
  const { token, playerId } = await newSession(node);
  const delivered: number[] = [];
  const client = new CroupierClient({
    baseUrl: node.wsUrl,
    token,
    onSequenced: (m) => delivered.push(m.seq as number),
  });
  return { client, delivered, token, playerId };
}

/** The server drops the player's sockets, as a node's restart or a network cut would. */
async function dropSockets(node: TestNode, playerId: string): Promise<void> {
  node.context.sockets.closeByPlayer(playerId, 1011, "dropped (test)");
  await waitFor(() => node.context.sockets.countOfPlayer(playerId) === 0, 5_000, "the drop");
}

describe("client", () => {
  test("client - a retry after the socket dropped reconnects with lastSeq and gets the stored reply", async () => {
    await using node = await startTestNode();
    const { client, delivered, playerId } = await recordingClient(node);
    await client.connect();
    const first = await client.spin(100, "retry-me");
    // The server drops the connection (as a node's restart or a network cut would).
    await dropSockets(node, playerId);
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

describe("client connections", () => {
  const spinCommand = (id: string) => ({ type: "spin", id, game: "slot", bet: 100 });

  test("client - retries after a drop share one reconnection, and every command is answered", async () => {
    await using node = await startTestNode();
    const { token, playerId } = await newSession(node);
    const client = new CroupierClient({ baseUrl: node.wsUrl, token });
    await client.connect();
    node.context.sockets.closeAll(1012, "node draining (test)");
    await waitFor(() => node.context.sockets.size === 0, 5_000, "the drop");
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => client.commandWithRetry(spinCommand(`c-${i}`))),
    );
    expect(answers.every((answer) => answer.type === "spin.result")).toBe(true);
    expect(node.context.sockets.countOfPlayer(playerId)).toBe(1);
    client.close();
  });

  test("client - a connection that stopped answering is replaced by the retry", async () => {
    await using node = await startTestNode();
    await using relay = await TcpRelay.start("127.0.0.1", node.port);
    const { token } = await newSession(node);
    const client = new CroupierClient({ baseUrl: `ws://127.0.0.1:${relay.port}`, token });
    await client.connect();
    expect(relay.silence(() => true)).toBe(1); // half open: no close reaches either side
    const answer = await client.commandWithRetry(spinCommand("half-open"), 10, 500);
    expect(answer.type).toBe("spin.result");
    client.close();
  });

  test("client - a revoked session ends the retries with SESSION_REVOKED, and close() is final", async () => {
    await using node = await startTestNode();
    const { token, playerId } = await newSession(node);
    const closes: number[] = [];
    const client = new CroupierClient({
      baseUrl: node.wsUrl,
      token,
      onClose: (code) => closes.push(code),
    });
    await client.connect();
    expect((await http(node, "DELETE", "/v1/sessions/current", { token })).status).toBe(204);
    await waitFor(() => closes.length === 1, 5_000, "the 4001 close");
    expect(closes).toEqual([4001]);
    await expect(client.commandWithRetry(spinCommand("after-revoke"))).rejects.toMatchObject({
      code: "SESSION_REVOKED",
      id: "after-revoke",
    });
    expect(closes).toEqual([4001]); // no reconnection tried

    const other = await newSession(node);
    const closed = new CroupierClient({ baseUrl: node.wsUrl, token: other.token });
    await closed.connect();
    closed.close();
    await expect(closed.commandWithRetry(spinCommand("after-close"))).rejects.toMatchObject({
      code: "CLOSED",
    });
    await expect(closed.connect()).rejects.toMatchObject({ code: "CLOSED" });
    await waitFor(() => node.context.sockets.countOfPlayer(other.playerId) === 0, 5_000, "closed");
    expect(node.context.sockets.countOfPlayer(playerId)).toBe(0);
  });

  test("client - a reconnection resumes after the last seq delivered; connect() on an open client opens nothing", async () => {
    await using node = await startTestNode();
    const { client, delivered, token, playerId } = await recordingClient(node);
    const welcome = await client.connect();
    await client.connect();
    expect(node.context.sockets.countOfPlayer(playerId)).toBe(1);
    await dropSockets(node, playerId);
    // Money moves while the client is away: the reconnection gets it.
    const deposit = await http(node, "POST", "/v1/wallet/deposit", {
      token,
      body: { playerId, amount: 500, id: "while-away" },
    });
    expect(deposit.status).toBe(200);
    await client.connect();
    await waitFor(() => delivered.includes(welcome.seq + 1), 5_000, "the missed deposit");
    expect(delivered).toEqual([welcome.seq + 1]);
    client.close();
  });

  test("client - an application callback that throws does not cost the command its answer", async () => {
    await using node = await startTestNode();
    const { token } = await newSession(node);
    const reported: unknown[] = [];
    const client = new CroupierClient({
      baseUrl: node.wsUrl,
      token,
      onSequenced: () => {
        throw new Error("application bug (test)");
      },
      onCallbackError: (error) => reported.push(error),
    });
    await client.connect();
    const answer = await client.spin(100, "callback-throws");
    expect(answer.type).toBe("spin.result");
    expect(client.lastSeq).toBe(answer.seq as number);
    expect(reported).toHaveLength(1);
    expect(String(reported[0])).toContain("application bug (test)");
    client.close();
  });
});
