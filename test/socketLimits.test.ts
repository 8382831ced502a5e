import { afterAll, describe, expect, test } from "bun:test";
import type { Config } from "../config/defaults.ts";
import { openTempLedger, removeDataDirs } from "../src/store/embedded/testing/tempLedger.ts";
import { waitFor } from "../src/testing/waitFor.ts";
import {
  holdWrites,
  http,
  newSession,
  RecordingSocket,
  startTestNode,
  upgradeRequest,
} from "./harness.ts";
import { RawWebSocket } from "./rawWebSocket.ts";

afterAll(removeDataDirs);

describe("socket limits", () => {
  test("socket limits - a socket that never answers pings is closed with 4000", async () => {
    await using node = await startTestNode({ heartbeatMs: 100 });
    const { token } = await newSession(node);
    const answering = await RecordingSocket.open(node, token);
    const silent = await RawWebSocket.open(node.port, `/v1/ws?token=${token}`);
    expect(await silent.closeCode(5_000)).toBe(4000);
    // A client that answers pings (as browsers do) outlives several heartbeat periods.
    answering.send({ type: "ping", id: "still-here" });
    await answering.waitFor((m) => m.id === "still-here");
    expect(answering.isOpen).toBe(true);
    answering.close();
  });

  test("socket limits - a client that sends its own pings, and never a pong, is heard and kept", async () => {
    await using node = await startTestNode({ heartbeatMs: 100 });
    const { token } = await newSession(node);
    const pinging = await RawWebSocket.open(node.port, `/v1/ws?token=${token}`);
    pinging.onServerPing = () => pinging.sendPing();
    let closeCode: number | undefined;
    pinging.closeCode(10_000).then(
      (code) => {
        closeCode = code;
      },
      () => {}, // destroyed at the end without a close frame
    );
    // Six server pings span three silence windows (2 x heartbeatMs each).
    await waitFor(() => pinging.serverPings >= 6 || closeCode !== undefined, 5_000, "six pings");
    expect(closeCode).toBeUndefined();
    pinging.destroy();
  });

  test("socket limits - a client that stops reading is closed with 4002, not buffered without bound", async () => {
    await using node = await startTestNode({ socketBackpressureBytesMax: 64 * 1024 });
    const { token } = await newSession(node);
    const reader = await RawWebSocket.open(node.port, `/v1/ws?token=${token}`);
    reader.pauseReading();
    // Each bad frame earns an error reply of ~100 bytes that the client never reads: a few MB fill
    // the kernel buffers, then the server-side buffer reaches its limit.
    const frame = JSON.stringify({ type: "x".repeat(40), id: "flood" });
    for (let i = 0; i < 200_000; i++) reader.sendText(frame);
    const bystander = await RecordingSocket.open(node, token);
    reader.resumeReading();
    expect(await reader.closeCode(10_000)).toBe(4002);
    // The server dropped the rest instead of queueing them: far fewer replies than frames arrived.
    expect(reader.textFrames).toBeLessThan(200_000);
    bystander.send({ type: "ping", id: "fine" });
    await bystander.waitFor((m) => m.id === "fine");
    bystander.close();
  });

  test("socket limits - a frame over 4 KiB closes the socket with 1009", async () => {
    await using node = await startTestNode();
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    socket.send({ type: "ping", id: "fits", pad: "x".repeat(3_900) });
    await socket.waitFor((m) => m.id === "fits");
    socket.send({ type: "ping", id: "too-big", pad: "x".repeat(4_100) });
    expect(await socket.waitForClose()).toBe(1009);
  });

  test("socket limits - what a frame was answered with arrives before the 1009 of an oversized frame after it", async () => {
    await using node = await startTestNode();
    const { token } = await newSession(node);
    const raw = await RawWebSocket.open(node.port, `/v1/ws?token=${token}`);
    await waitFor(() => raw.textFrames >= 2, 5_000, "the welcome and table.seats");
    raw.texts = [];
    // Read together: Bun answers the first (an error frame), then closes the socket by itself.
    raw.sendTexts([
      "not json",
      JSON.stringify({ type: "ping", id: "too-big", pad: "x".repeat(4_100) }),
    ]);
    expect(await raw.closeCode(5_000)).toBe(1009);
    expect(raw.texts.map((text) => JSON.parse(text).code)).toEqual(["BAD_REQUEST"]);
  });

  test("socket limits - every close the server makes is counted once, by code", async () => {
    await using node = await startTestNode();
    const big = await RecordingSocket.open(node, (await newSession(node)).token);
    big.send({ type: "ping", id: "too-big", pad: "x".repeat(4_100) });
    expect(await big.waitForClose()).toBe(1009);
    const { token } = await newSession(node);
    const revoked = [
      await RecordingSocket.open(node, token),
      await RecordingSocket.open(node, token),
    ];
    expect((await http(node, "DELETE", "/v1/sessions/current", { token })).status).toBe(204);
    for (const socket of revoked) expect(await socket.waitForClose()).toBe(4001);
    // A close the client makes is not the server's, whatever reason it gives.
    const leaving = await RecordingSocket.open(node, (await newSession(node)).token);
    leaving.close();
    const mimic = new WebSocket(`${node.wsUrl}/v1/ws?token=${(await newSession(node)).token}`);
    await new Promise((resolve) => {
      mimic.onopen = resolve;
    });
    mimic.close(1000, "Received too big message");
    await waitFor(() => node.context.sockets.size === 0, 5_000, "every socket to be gone");
    const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text();
    const closes = metrics
      .split("\n")
      .filter((line) => line.startsWith("croupier_socket_closes_total"));
    expect(closes.sort()).toEqual([
      'croupier_socket_closes_total{code="1009"} 1',
      'croupier_socket_closes_total{code="4001"} 2',
    ]);
  });

  test("socket limits - revoking a session closes its sockets with 4001 and the token stops working", async () => {
    await using node = await startTestNode();
    const { token } = await newSession(node);
    const first = await RecordingSocket.open(node, token);
    const second = await RecordingSocket.open(node, token);
    const other = await newSession(node);
    const bystander = await RecordingSocket.open(node, other.token);
    expect((await http(node, "DELETE", "/v1/sessions/current", { token })).status).toBe(204);
    expect(await first.waitForClose(1_000)).toBe(4001);
    expect(await second.waitForClose(1_000)).toBe(4001);
    expect((await http(node, "GET", "/v1/wallet", { token })).status).toBe(401);
    const refused = await upgradeRequest(node, `?token=${token}`);
    expect(refused.status).toBe(401);
    expect(bystander.isOpen).toBe(true);
    bystander.close();
  });

  test("socket limits - a revocation while the upgrade is still being checked closes that socket too", async () => {
    // An upgrade with lastSeq asks the busy player actor for the player's seq: it waits in the
    // actor's mailbox after the token was accepted.
    await using busy = await nodeWithBusyPlayer();
    const { node, held, token, first } = busy;
    // Seen through the node's own session store: the late upgrade has accepted the token.
    const { sessions } = node.context;
    const find = sessions.find.bind(sessions);
    const tokenAccepted = Promise.withResolvers<void>();
    sessions.find = async (candidate) => {
      const found = await find(candidate);
      if (candidate === token && found !== undefined) tokenAccepted.resolve();
      return found;
    };
    let lateCloseCode: number | undefined;
    const late = new WebSocket(`${node.wsUrl}/v1/ws?token=${token}&lastSeq=0`);
    late.onclose = (event) => {
      lateCloseCode = event.code;
    };
    await tokenAccepted.promise;
    expect((await http(node, "DELETE", "/v1/sessions/current", { token })).status).toBe(204);
    expect(await first.waitForClose(1_000)).toBe(4001);
    held.release("slow");
    await waitFor(() => lateCloseCode !== undefined, 2_000, "the late socket to close");
    expect(lateCloseCode).toBe(4001);
  });

  test("socket limits - frames sent before the welcome are answered after it, up to a bound, then 1008", async () => {
    // A new socket's welcome asks the busy player actor for the player's state: it waits, and so
    // does every frame that socket sends meanwhile.
    await using busy = await nodeWithBusyPlayer();
    const { node, held, token } = busy;
    const patient = await openWithoutWelcome(`${node.wsUrl}/v1/ws?token=${token}`);
    const flooding = await openWithoutWelcome(`${node.wsUrl}/v1/ws?token=${token}`);
    for (let i = 0; i < 100; i++)
      patient.socket.send(JSON.stringify({ type: "ping", id: `p${i}` }));
    for (let i = 0; i < 1_000; i++)
      flooding.socket.send(JSON.stringify({ type: "ping", id: `f${i}` }));
    await waitFor(() => flooding.closeCode !== undefined, 5_000, "the flooding socket to close");
    expect(flooding.closeCode).toBe(1008);
    held.release("slow");
    const pongs = () => patient.messages.filter((m) => m.type === "pong");
    await waitFor(() => pongs().length === 100, 5_000, "100 pongs");
    expect(patient.messages[0].type).toBe("welcome");
    expect(pongs().map((m) => m.id)).toEqual(Array.from({ length: 100 }, (_, i) => `p${i}`));
    patient.socket.close();
  });

  test("socket limits - frames refused for rate while earlier ones wait are bounded too, then 1008", async () => {
    await using busy = await nodeWithBusyPlayer({
      commandsPerSecond: 50,
      commandBurst: 100,
      rateLimitStrikesMax: 200,
    });
    const { node, held, token } = busy;
    const flooding = await openWithoutWelcome(`${node.wsUrl}/v1/ws?token=${token}`);
    let sent = 0;
    const send = () => flooding.socket.send(JSON.stringify({ type: "ping", id: `f${sent++}` }));
    for (let i = 0; i < 100; i++) send(); // the burst, allowed, waiting for the welcome
    // Each cycle: one frame allowed by a refilled token (it ends the strikes' streak), then 150
    // refused ones. Their answers wait for the welcome too, and only so many may.
    for (let cycle = 0; cycle < 5 && flooding.closeCode === undefined; cycle++) {
      const cycleAtMs = performance.now();
      await waitFor(() => performance.now() - cycleAtMs > 25, 1_000, "a token to refill");
      for (let i = 0; i < 151; i++) send();
    }
    await waitFor(() => flooding.closeCode !== undefined, 5_000, "the flooding socket to close");
    expect(flooding.closeCode).toBe(1008);
    expect(flooding.messages).toEqual([]);
    held.release("slow");
  });

  test("socket limits - a socket is closed with 4001 when its session expires", async () => {
    await using node = await startTestNode({ sessionTtlMs: 1_000, heartbeatMs: 200 });
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    const openedAtMs = performance.now();
    expect(await socket.waitForClose(3_000)).toBe(4001);
    expect(socket.closeReason).toBe("session expired");
    // Not before the session's time is up (it was created just before the socket opened).
    expect(performance.now() - openedAtMs).toBeGreaterThan(500);
  });

  test("socket limits - commands over the rate get RATE_LIMITED, then a flood is closed with 1008", async () => {
    await using node = await startTestNode({
      commandsPerSecond: 1,
      commandBurst: 5,
      rateLimitStrikesMax: 20,
    });
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    for (let i = 0; i < 10; i++) socket.send({ type: "ping", id: `r-${i}` });
    const answers = await socket.waitForCount((m) => String(m.id).startsWith("r-"), 10);
    expect(answers.filter((m) => m.type === "pong")).toHaveLength(5);
    expect(answers.filter((m) => m.type === "error" && m.code === "RATE_LIMITED")).toHaveLength(5);
    // A malformed command past the limit is answered too, with its id.
    socket.send({ type: "nosuch", id: "limited-unknown" });
    expect(await socket.waitFor((m) => m.id === "limited-unknown")).toMatchObject({
      code: "RATE_LIMITED",
    });
    expect(socket.isOpen).toBe(true);
    for (let i = 0; i < 50; i++) socket.send({ type: "ping", id: `flood-${i}` });
    expect(await socket.waitForClose()).toBe(1008);
  });

  test("socket limits - upgrades and dev sessions are limited per address", async () => {
    await using node = await startTestNode({
      upgradesPerSecondPerIp: 1,
      upgradeBurstPerIp: 2,
      sessionsPerSecondPerIp: 1,
      sessionBurstPerIp: 3,
    });
    const responses = [];
    for (let i = 0; i < 5; i++)
      responses.push(await http(node, "POST", "/v1/sessions", { body: { playerId: `ip-${i}` } }));
    expect(responses.map((r) => r.status)).toEqual([201, 201, 201, 429, 429]);
    expect(responses[4]?.body.error.code).toBe("RATE_LIMITED");
    const token = responses[0]?.body.token;
    const sockets = [
      await RecordingSocket.open(node, token),
      await RecordingSocket.open(node, token),
    ];
    const third = await upgradeRequest(node, `?token=${token}`);
    expect(third.status).toBe(429);
    for (const socket of sockets) socket.close();
  });

  test("socket limits - HTTP reads are limited per address, except with the operator key", async () => {
    const operatorKey = "read-limit-operator-key-0123456789";
    await using node = await startTestNode(
      { readsPerSecondPerIp: 1, readBurstPerIp: 3 },
      { OPERATOR_KEY: operatorKey },
    );
    const { token } = await newSession(node, "reader", operatorKey);
    const reads = ["/v1/tables", "/v1/leaderboard", "/v1/wallet", "/v1/rounds/none", "/v1/tables"];
    const statuses = [];
    for (const path of reads) statuses.push((await http(node, "GET", path, { token })).status);
    // The burst of three passes, then every read is refused before it reaches the ledger.
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    const refused = await http(node, "GET", "/v1/wallet/history", { token });
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe("RATE_LIMITED");
    for (let i = 0; i < 5; i++)
      expect((await http(node, "GET", "/v1/tables", { token: operatorKey })).status).toBe(200);
    // Health and metrics are never limited.
    expect((await http(node, "GET", "/health/ready")).status).toBe(200);
  });

  test("socket limits - behind a trusted proxy each forwarded client has its own budget", async () => {
    const limits = {
      sessionsPerSecondPerIp: 1,
      sessionBurstPerIp: 1,
      upgradesPerSecondPerIp: 1,
      upgradeBurstPerIp: 1,
    };
    const statuses = async (
      node: { httpUrl: string },
      path: string,
      forwardedFor: string[],
      init: RequestInit = {},
    ) => {
      const seen: number[] = [];
      for (const address of forwardedFor) {
        const headers = {
          ...(init.headers as Record<string, string>),
          "x-forwarded-for": `198.51.100.77, ${address}`,
        };
        seen.push((await fetch(`${node.httpUrl}${path}`, { ...init, headers })).status);
      }
      return seen;
    };
    const sessionRequest = (i: number): RequestInit => ({
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ playerId: `proxied-${i}` }),
    });
    const clients = ["203.0.113.1", "203.0.113.2", "203.0.113.1", "::ffff:203.0.113.2"];
    {
      await using node = await startTestNode({ ...limits, trustedProxies: ["127.0.0.0/8", "::1"] });
      const seen: number[] = [];
      for (const [i, address] of clients.entries())
        seen.push(...(await statuses(node, "/v1/sessions", [address], sessionRequest(i))));
      // The spoofed leftmost entry is ignored; the two clients are limited apart.
      expect(seen).toEqual([201, 201, 429, 429]);
      // Two addresses of one IPv6 /64 are one client; another /64 is another.
      const ipv6: number[] = [];
      for (const [i, address] of [
        "2001:db8:5:5::1",
        "2001:db8:5:5::2",
        "2001:db8:5:6::1",
      ].entries())
        ipv6.push(...(await statuses(node, "/v1/sessions", [address], sessionRequest(10 + i))));
      expect(ipv6).toEqual([201, 429, 201]);
      const { token } = await newSession(node, "proxied-0");
      const from = (address: string) => ({ "x-forwarded-for": address });
      const first = await RawWebSocket.open(
        node.port,
        `/v1/ws?token=${token}`,
        from("203.0.113.3"),
      );
      const second = await RawWebSocket.open(
        node.port,
        `/v1/ws?token=${token}`,
        from("203.0.113.4"),
      );
      await expect(
        RawWebSocket.open(node.port, `/v1/ws?token=${token}`, from("203.0.113.3")),
      ).rejects.toThrow("HTTP/1.1 429");
      first.destroy();
      second.destroy();
    }
    {
      // Not trusted: the header cannot buy a client a fresh budget.
      await using node = await startTestNode(limits);
      const seen: number[] = [];
      for (const [i, address] of clients.entries())
        seen.push(...(await statuses(node, "/v1/sessions", [address], sessionRequest(i))));
      expect(seen).toEqual([201, 429, 429, 429]);
    }
  });

  test("socket limits - a player's open sockets are bounded: past the bound the upgrade gets 429", async () => {
    await using node = await startTestNode({ socketsPerPlayerMax: 2 });
    const { token, playerId } = await newSession(node);
    const open = [await RecordingSocket.open(node, token), await RecordingSocket.open(node, token)];
    const refused = await RawWebSocket.open(node.port, `/v1/ws?token=${token}`).then(
      () => "upgraded",
      (error: Error) => error.message,
    );
    expect(refused).toContain("HTTP/1.1 429");
    // Another player is not affected, and a closed socket makes room.
    const other = await RecordingSocket.open(node, (await newSession(node)).token);
    open[0]?.close();
    await waitFor(() => node.context.sockets.countOfPlayer(playerId) === 1, 5_000, "the close");
    const again = await RecordingSocket.open(node, token);
    expect(again.isOpen).toBe(true);
    for (const socket of [again, other, open[1]]) socket?.close();
  });

  test("socket limits - a WebSocket without a valid token is refused with 401 before the upgrade", async () => {
    await using node = await startTestNode();
    for (const query of ["", "?token=", "?token=forged"]) {
      const response = await upgradeRequest(node, query);
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        "UNAUTHENTICATED",
      );
    }
  });
});

/** A node whose one player's actor is busy committing a spin ("slow") until it is released. */
async function nodeWithBusyPlayer(overrides: Partial<Config> = {}) {
  const held = holdWrites(await openTempLedger());
  const node = await startTestNode(overrides, {}, { ledger: held.ledger });
  const { token } = await newSession(node);
  const first = await RecordingSocket.open(node, token);
  held.hold("slow");
  first.send({ type: "spin", id: "slow", game: "slot", bet: 100 });
  await held.reached("slow");
  return { node, held, token, first, [Symbol.asyncDispose]: () => node[Symbol.asyncDispose]() };
}

/** A socket that is open (upgraded) but may not have its welcome yet; records what arrives. */
async function openWithoutWelcome(url: string): Promise<{
  socket: WebSocket;
  messages: any[];
  closeCode: number | undefined;
}> {
  const socket = new WebSocket(url);
  const state = { socket, messages: [] as any[], closeCode: undefined as number | undefined };
  socket.onmessage = (event) => state.messages.push(JSON.parse(String(event.data)));
  socket.onclose = (event) => {
    state.closeCode = event.code;
  };
  const opened = Promise.withResolvers<void>();
  socket.onopen = () => opened.resolve();
  socket.onerror = () => opened.reject(new Error(`could not open ${url}`));
  await opened.promise;
  return state;
}
