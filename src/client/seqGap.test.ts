import { describe, expect, test } from "bun:test";
import type { Server, ServerWebSocket } from "bun";
import { balanceOf, http, newSession, startTestNode } from "../../test/harness.ts";
import { fastTable } from "../../test/tableHelpers.ts";
import { waitFor } from "../testing/waitFor.ts";
import { CroupierClient, type ServerMessage, type Welcome } from "./client.ts";

const waitMs = 10_000;

/** Codes a close frame may not carry; the relay passes them on as a normal close. */
const unsendableCloseCodes = new Set([1005, 1006, 1015]);

/** One client connection through the relay, with its own connection to the node. */
class RelayedConnection {
  /** Every frame the node sent on this connection, the dropped ones too. */
  readonly fromNode: ServerMessage[] = [];
  private readonly upstream: WebSocket;
  private readonly toNodeBeforeOpen: string[] = [];
  private readonly held: string[] = [];

  constructor(
    readonly path: string,
    nodeWsUrl: string,
    private readonly client: ServerWebSocket<RelayData>,
    private readonly drops: (message: ServerMessage) => boolean,
    private paused: boolean,
  ) {
    this.upstream = new WebSocket(`${nodeWsUrl}${path}`);
    this.upstream.onopen = () => {
      for (const frame of this.toNodeBeforeOpen.splice(0)) this.upstream.send(frame);
    };
    this.upstream.onmessage = (event) => this.fromNodeFrame(String(event.data));
    this.upstream.onclose = (event) =>
      client.close(unsendableCloseCodes.has(event.code) ? 1000 : event.code, event.reason);
  }

  toNode(frame: string): void {
    if (this.upstream.readyState === WebSocket.OPEN) this.upstream.send(frame);
    else this.toNodeBeforeOpen.push(frame);
  }

  /** Lets the frames held while paused through, in order, and the later ones as they come. */
  resume(): void {
    this.paused = false;
    for (const frame of this.held.splice(0)) this.client.send(frame);
  }

  close(): void {
    this.upstream.close();
  }

  private fromNodeFrame(frame: string): void {
    const message = JSON.parse(frame) as ServerMessage;
    this.fromNode.push(message);
    if (this.drops(message)) return;
    if (this.paused) this.held.push(frame);
    else this.client.send(frame);
  }
}

interface RelayData {
  path: string;
  connection?: RelayedConnection;
}

/**
 * A WebSocket relay in front of a real node that can drop the node's frames before they reach the
 * client: how a test makes a socket miss a sequenced message, as when the server lost it (a
 * command that timed out on the server never sends its reply).
 */
class LossyRelay {
  readonly connections: RelayedConnection[] = [];
  /** Which frames from the node the client never gets, by connection (0 for the first). */
  drop: (message: ServerMessage, connection: number) => boolean = () => false;
  /** Connections opened while set hold the node's frames until `resume()`. */
  pauseNewConnections = false;
  private readonly server: Server<RelayData>;

  constructor(nodeWsUrl: string) {
    this.server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: (request, server) => {
        const url = new URL(request.url);
        if (server.upgrade(request, { data: { path: `${url.pathname}${url.search}` } })) return;
        return new Response("WebSocket only", { status: 400 });
      },
      websocket: {
        data: {} as RelayData,
        open: (ws) => {
          const index = this.connections.length;
          const connection = new RelayedConnection(
            ws.data.path,
            nodeWsUrl,
            ws,
            (message) => this.drop(message, index),
            this.pauseNewConnections,
          );
          ws.data.connection = connection;
          this.connections.push(connection);
        },
        message: (ws, frame) => ws.data.connection?.toNode(String(frame)),
        close: (ws) => ws.data.connection?.close(),
      },
    });
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.server.port}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const connection of this.connections) connection.close();
    await this.server.stop(true);
  }
}

/** A node, a player, a relay in front of the node and a client through it, recording deliveries. */
async function setUp(nodeOverrides: Parameters<typeof startTestNode>[0] = {}) {
  const node = await startTestNode(nodeOverrides);
  const { token, playerId } = await newSession(node);
  const relay = new LossyRelay(node.wsUrl);
  const delivered: ServerMessage[] = [];
  const welcomes: Welcome[] = [];
  const client = new CroupierClient({
    baseUrl: relay.wsUrl,
    token,
    onSequenced: (message) => delivered.push(message),
    onWelcome: (welcome) => welcomes.push(welcome),
  });
  const welcome = await client.connect();
  const deposit = async (amount: number, id: string): Promise<void> => {
    const response = await http(node, "POST", "/v1/wallet/deposit", {
      token,
      body: { playerId, amount, id },
    });
    expect(response.status).toBe(200);
  };
  /** Waits until the node has sent `seq` on the relay's connection `connection`. */
  const nodeSent = (seq: number, connection = 0) =>
    waitFor(
      () => relay.connections[connection]?.fromNode.some((m) => m.seq === seq) ?? false,
      waitMs,
      `seq ${seq} from the node on connection ${connection}`,
    );
  const deliveredSeqs = () => delivered.map((message) => message.seq);
  return {
    node,
    token,
    relay,
    client,
    delivered,
    deliveredSeqs,
    welcomes,
    start: welcome.seq,
    deposit,
    nodeSent,
    async [Symbol.asyncDispose]() {
      client.close();
      await relay[Symbol.asyncDispose]();
      await node[Symbol.asyncDispose]();
    },
  };
}

describe("client seq gaps", () => {
  test("client seq gaps - a pushed event past a missed one: resumes after the gap, each seq once, in order", async () => {
    await using t = await setUp();
    const missed = t.start + 1;
    t.relay.drop = (message, connection) => connection === 0 && message.seq === missed;
    await t.deposit(100, "dep-missed");
    await t.nodeSent(missed);
    expect(t.deliveredSeqs()).toEqual([]);
    await t.deposit(200, "dep-after-gap");
    await waitFor(() => t.delivered.length === 2, waitMs, "the replay to fill the gap");
    expect(t.deliveredSeqs()).toEqual([missed, missed + 1]);
    expect(t.delivered.map((message) => message.reason)).toEqual(["deposit", "deposit"]);
    expect(t.relay.connections).toHaveLength(2);
    expect(t.relay.connections[1]?.path).toContain(`lastSeq=${t.start}`);
    expect(t.client.lastSeq).toBe(missed + 1);
    // The new socket is live: the next message arrives once, without another reconnection.
    const spun = await t.client.spin(100, "after-resume");
    expect(spun.seq).toBe(missed + 2);
    await waitFor(() => t.delivered.length === 3, waitMs, "the spin's delivery");
    expect(t.deliveredSeqs()).toEqual([missed, missed + 1, missed + 2]);
    expect(t.relay.connections).toHaveLength(2);
  });

  test("client seq gaps - a reply past a gap answers its command; its delivery waits for the replay", async () => {
    await using t = await setUp();
    const missed = t.start + 1;
    t.relay.drop = (message, connection) => connection === 0 && message.seq === missed;
    await t.deposit(100, "dep-missed");
    await t.nodeSent(missed);
    const reply = await t.client.spin(100, "past-the-gap");
    expect(reply.type).toBe("spin.result");
    expect(reply.seq).toBe(missed + 1);
    await waitFor(() => t.delivered.length === 2, waitMs, "the replay to fill the gap");
    expect(t.deliveredSeqs()).toEqual([missed, missed + 1]);
    expect(t.delivered[1]).toEqual(reply);
    // A retry's reply carries the same seq: it answers again but is not delivered again.
    expect(await t.client.spin(100, "past-the-gap")).toEqual(reply);
    expect(t.deliveredSeqs()).toEqual([missed, missed + 1]);
  });

  test("client seq gaps - commands in flight during the resync go out again with their id and move money once", async () => {
    await using t = await setUp();
    const before = await balanceOf(t.node, t.token);
    const missed = t.start + 1;
    // The first socket misses a deposit's event and the reply of a spin still in flight.
    t.relay.drop = (message, connection) =>
      connection === 0 && (message.seq === missed || message.id === "in-flight");
    await t.deposit(100, "dep-missed");
    await t.nodeSent(missed);
    const inFlight = t.client.spin(100, "in-flight");
    await t.nodeSent(missed + 1);
    // The resync's welcome and replay are held back, so a command sent meanwhile waits for them.
    t.relay.pauseNewConnections = true;
    await t.deposit(200, "dep-after-gap");
    await waitFor(() => t.relay.connections.length === 2, waitMs, "the resync reconnection");
    const duringResync = t.client.spin(100, "during-resync");
    t.relay.connections[1]?.resume();
    const [inFlightReply, duringResyncReply] = await Promise.all([inFlight, duringResync]);
    expect(inFlightReply.seq).toBe(missed + 1);
    expect(duringResyncReply.seq).toBe(missed + 3);
    await waitFor(() => t.delivered.length === 4, waitMs, "every seq");
    expect(t.deliveredSeqs()).toEqual([missed, missed + 1, missed + 2, missed + 3]);
    expect(t.delivered[1]).toEqual(inFlightReply);
    expect(t.delivered[3]).toEqual(duringResyncReply);
    const spun = [inFlightReply, duringResyncReply];
    const net = spun.reduce((sum, reply) => sum + (reply.win as number) - (reply.bet as number), 0);
    expect(await balanceOf(t.node, t.token)).toBe(before + 300 + net);
    expect(duringResyncReply.balance).toBe(before + 300 + net);
  });

  test("client seq gaps - a leave already sent is not sent again by the resync: it fails CLOSED, not NOT_SEATED", async () => {
    await using t = await setUp({ tables: [fastTable("t-fast", { bettingWindowMs: 10_000 })] });
    await t.client.joinTable("t-fast", "join-1");
    const missed = t.start + 1;
    // The first socket misses a deposit's event and the leave's answer: the leave ran, but the
    // client cannot know; sending it again would answer NOT_SEATED for a leave that succeeded.
    t.relay.drop = (message, connection) =>
      connection === 0 && (message.seq === missed || message.id === "leave-1");
    await t.deposit(100, "dep-missed");
    await t.nodeSent(missed);
    const leave = t.client.leaveTable("t-fast", "leave-1").then(
      (message) => `answered ${message.type}`,
      (error: { code?: string }) => `failed ${error.code}`,
    );
    await waitFor(
      () => t.relay.connections[0]?.fromNode.some((m) => m.id === "leave-1") ?? false,
      waitMs,
      "the node to answer the leave",
    );
    await t.deposit(200, "dep-after-gap");
    expect(await leave).toBe("failed CLOSED");
    expect(t.relay.connections[1]?.fromNode.some((m) => m.id === "leave-1")).toBe(false);
  });

  test("client seq gaps - missed messages the server no longer stores are skipped, without reconnecting again", async () => {
    await using t = await setUp({ replayEventsMax: 2 });
    const firstMissed = t.start + 1;
    t.relay.drop = (message, connection) =>
      connection === 0 && message.seq !== undefined && message.seq <= t.start + 3;
    for (const id of ["lost-1", "lost-2", "lost-3"]) await t.deposit(100, id);
    await t.nodeSent(firstMissed + 2);
    await t.deposit(100, "after-gap");
    await waitFor(() => t.delivered.length === 2, waitMs, "the bounded replay");
    expect(t.welcomes.at(-1)?.replayFrom).toBe(t.start + 3);
    expect(t.deliveredSeqs()).toEqual([t.start + 3, t.start + 4]);
    const spun = await t.client.spin(100, "after-skip");
    expect(spun.seq).toBe(t.start + 5);
    await waitFor(() => t.delivered.length === 3, waitMs, "the spin's delivery");
    expect(t.relay.connections).toHaveLength(2);
  });
});
