import { describe, expect, test } from "bun:test";
import type { ServerWebSocket } from "bun";
import { waitFor } from "../testing/waitFor.ts";
import { CroupierClient } from "./client.ts";

/**
 * A scripted protocol server (a real WebSocket server on port 0): for the client's own
 * behaviour in timings a real node does not offer on demand.
 */
function scriptedServer(script: {
  onOpen: (ws: ServerWebSocket<unknown>) => void;
  onMessage?: (ws: ServerWebSocket<unknown>, message: { type: string; id?: string }) => void;
}) {
  let connections = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(request, server) {
      connections += 1;
      return server.upgrade(request) ? undefined : new Response("no", { status: 400 });
    },
    websocket: {
      open: (ws) => script.onOpen(ws),
      message: (ws, text) => script.onMessage?.(ws, JSON.parse(String(text))),
    },
  });
  return {
    url: `ws://127.0.0.1:${server.port}`,
    connections: () => connections,
    [Symbol.dispose]: () => server.stop(true),
  };
}

const welcome = JSON.stringify({
  type: "welcome",
  playerId: "p",
  balance: 0,
  seq: 0,
  node: "scripted",
  heartbeatMs: 30_000,
  serverTime: "",
});

/** Settles with the promise's outcome, or "pending" once `boundMs` has passed. */
function within(promise: Promise<unknown>, boundMs: number): Promise<string> {
  return Promise.race([
    promise.then(
      () => "resolved",
      (error: unknown) => `rejected ${error}`,
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve("pending"), boundMs)),
  ]);
}

describe("client connection", () => {
  test("client connection - a command sent from onClose of a failed resync goes out on the new connection", async () => {
    let opened = 0;
    using server = scriptedServer({
      onOpen: (ws) => {
        opened += 1;
        if (opened === 1) {
          ws.send(welcome);
          ws.send(JSON.stringify({ type: "balance", seq: 2 })); // a gap: seq 1 is missing
        } else if (opened === 2)
          ws.close(1013, "try again later"); // the resync is refused
        else ws.send(welcome);
      },
      onMessage: (ws, message) => {
        if (message.type === "ping") ws.send(JSON.stringify({ type: "pong", id: message.id }));
      },
    });
    let outcome: Promise<string> | undefined;
    const client = new CroupierClient({
      baseUrl: server.url,
      token: "t",
      onClose: () => {
        if (outcome !== undefined) return;
        void client.connect().catch(() => undefined);
        outcome = within(client.command({ type: "ping" }, 3_000), 5_000);
      },
    });
    await client.connect();
    await waitFor(() => outcome !== undefined, 5_000, "onClose of the refused resync");
    expect(await outcome).toBe("resolved");
    client.close();
  });

  test("client connection - connect() from onClose of an attempt refused before its welcome starts a new one", async () => {
    let refused = false;
    using server = scriptedServer({
      onOpen: (ws) => {
        if (refused) return void ws.send(welcome);
        refused = true;
        ws.close(1013, "try again later");
      },
    });
    let reconnect: Promise<string> | undefined;
    const client = new CroupierClient({
      baseUrl: server.url,
      token: "t",
      onClose: () => {
        reconnect ??= within(client.connect(), 5_000);
      },
    });
    expect(await within(client.connect(), 5_000)).toContain("rejected");
    await waitFor(() => reconnect !== undefined, 5_000, "onClose");
    expect(await reconnect).toBe("resolved");
    expect(server.connections()).toBe(2);
    client.close();
  });

  test("client connection - a command's retry does not drop a socket that still waits for its welcome", async () => {
    // The welcome takes 1.5 s (a slow player load), within connect()'s limit; a spin sent
    // meanwhile times out first, and its retry probes the socket.
    using server = scriptedServer({
      onOpen: (ws) => setTimeout(() => ws.send(welcome), 1_500),
      onMessage: (ws, message) => {
        if (message.type === "spin")
          ws.send(JSON.stringify({ type: "spin.result", id: message.id, seq: 1 }));
        if (message.type === "ping") ws.send(JSON.stringify({ type: "pong", id: message.id }));
      },
    });
    const client = new CroupierClient({ baseUrl: server.url, token: "t" });
    const connecting = within(client.connect(), 10_000);
    await waitFor(() => server.connections() === 1, 5_000, "the upgrade");
    const spin = client
      .commandWithRetry({ type: "spin", id: "s1", game: "slot", bet: 100 }, 2, 500)
      .catch((error: unknown) => error);
    expect(await connecting).toBe("resolved");
    await spin;
    expect(server.connections()).toBe(1);
    client.close();
  });
});
