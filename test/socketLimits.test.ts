import { describe, expect, test } from "bun:test";
import { connect as tcpConnect } from "node:net";
import { http, newSession, RecordingSocket, startTestNode } from "./harness.ts";

/**
 * A WebSocket client written on raw TCP that never answers pings, so the server's heartbeat
 * must evict it. Resolves with the close code the server sends.
 */
function silentSocketCloseCode(port: number, token: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, "127.0.0.1");
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no close frame in time"));
    }, timeoutMs);
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    socket.on("connect", () => {
      socket.write(
        `GET /v1/ws?token=${token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      );
    });
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        if (!buffer.subarray(0, end).toString().startsWith("HTTP/1.1 101"))
          reject(new Error("upgrade refused"));
        upgraded = true;
        buffer = buffer.subarray(end + 4);
      }
      // Walk server frames (unmasked, payloads < 126 bytes here or 16-bit lengths): ignore all but close.
      while (buffer.length >= 2) {
        const opcode = (buffer[0] as number) & 0x0f;
        let length = (buffer[1] as number) & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        }
        if (buffer.length < offset + length) return;
        if (opcode === 0x8) {
          clearTimeout(timer);
          socket.destroy();
          resolve(buffer.readUInt16BE(offset));
          return;
        }
        buffer = buffer.subarray(offset + length);
      }
    });
    socket.on("error", reject);
  });
}

describe("socket limits", () => {
  test("socket limits - a socket that never answers pings is closed with 4000", async () => {
    await using node = await startTestNode({ heartbeatMs: 100 });
    const { token } = await newSession(node);
    const answering = await RecordingSocket.open(node, token);
    const code = await silentSocketCloseCode(node.port, token, 5_000);
    expect(code).toBe(4000);
    // A client that answers pings (as browsers do) outlives several heartbeat periods.
    answering.send({ type: "ping", id: "still-here" });
    await answering.waitFor((m) => m.id === "still-here");
    expect(answering.isOpen).toBe(true);
    answering.close();
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
    const refused = await fetch(`${node.httpUrl}/v1/ws?token=${token}`, {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    expect(refused.status).toBe(401);
    expect(bystander.isOpen).toBe(true);
    bystander.close();
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
    const third = await fetch(`${node.httpUrl}/v1/ws?token=${token}`, {
      headers: {
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    });
    expect(third.status).toBe(429);
    for (const socket of sockets) socket.close();
  });

  test("socket limits - a WebSocket without a valid token is refused with 401 before the upgrade", async () => {
    await using node = await startTestNode();
    for (const query of ["", "?token=", "?token=forged"]) {
      const response = await fetch(`${node.httpUrl}/v1/ws${query}`, {
        headers: {
          upgrade: "websocket",
          connection: "Upgrade",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
          "sec-websocket-version": "13",
        },
      });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        "UNAUTHENTICATED",
      );
    }
  });
});
