import { afterAll, describe, expect, test } from "bun:test";
import { networkInterfaces } from "node:os";
import { openTempLedger, removeDataDirs } from "../src/store/embedded/testing/tempLedger.ts";
import { ledgerWithMethod } from "../src/testing/ledgerWithMethod.ts";
import { waitFor } from "../src/testing/waitFor.ts";
import { http, newSession, RecordingSocket, startTestNode, upgradeRequest } from "./harness.ts";

afterAll(removeDataDirs);

describe("health", () => {
  test("health - live, ready and metrics answer on a running node", async () => {
    await using node = await startTestNode();
    expect(await http(node, "GET", "/health/live")).toEqual({
      status: 200,
      body: { status: "live" },
    });
    expect(await http(node, "GET", "/health/ready")).toEqual({
      status: 200,
      body: { status: "ready" },
    });
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    socket.send({ type: "spin", id: "m1", game: "slot", bet: 100 });
    await socket.waitFor((m) => m.id === "m1");
    const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text();
    expect(metrics).toContain('croupier_commands_total{code="OK",type="spin"} 1');
    expect(metrics).toContain("croupier_sockets_open 1");
    expect(metrics).toMatch(/croupier_command_latency_ms_count 1\b/);
    socket.close();
  });

  test("health - with METRICS_PORT, metrics are served there and not on the public port", async () => {
    await using node = await startTestNode({}, { METRICS_PORT: "0" });
    expect(node.metricsUrl).toBeString();
    const scraped = await fetch(`${node.metricsUrl}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain("croupier_sockets_open 0");
    expect((await fetch(`${node.metricsUrl}/v1/tables`)).status).toBe(404);
    const publicMetrics = await http(node, "GET", "/metrics");
    expect(publicMetrics).toMatchObject({ status: 404, body: { error: { code: "NOT_FOUND" } } });
    expect(node.metricsUrl).not.toBe(node.httpUrl);
  });

  test("health - without METRICS_PORT, metrics on the public port answer only this machine and the operator", async () => {
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((address) => address !== undefined && !address.internal && address.family === "IPv4");
    const operatorKey = "health-test-operator-key-0123";
    await using node = await startTestNode({ host: "0.0.0.0" }, { OPERATOR_KEY: operatorKey });
    expect((await fetch(`http://127.0.0.1:${node.port}/metrics`)).status).toBe(200);
    // Forwarded by a proxy on this machine: not this machine's request.
    const proxied = await fetch(`http://127.0.0.1:${node.port}/metrics`, {
      headers: { "x-forwarded-for": "203.0.113.9" },
    });
    expect(proxied.status).toBe(404);
    if (outside === undefined) {
      console.warn("health: no non-loopback IPv4 interface here; only loopback was checked");
      return;
    }
    const fromOutside = `http://${outside.address}:${node.port}/metrics`;
    expect((await fetch(fromOutside)).status).toBe(404);
    const asOperator = await fetch(fromOutside, {
      headers: { authorization: `Bearer ${operatorKey}` },
    });
    expect(asOperator.status).toBe(200);
    expect(await asOperator.text()).toContain("croupier_");
  });

  test("health - HTTP requests are counted by the status they were answered with", async () => {
    await using node = await startTestNode();
    expect((await http(node, "GET", "/v1/wallet")).status).toBe(401);
    expect((await http(node, "GET", "/v1/no-such-route")).status).toBe(404);
    expect((await http(node, "POST", "/v1/sessions", { rawBody: "{" })).status).toBe(400);
    expect((await http(node, "POST", "/v1/sessions", { body: { playerId: "m-1" } })).status).toBe(
      201,
    );
    const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text();
    expect(metrics).toContain('croupier_http_requests_total{method="GET",status="401"} 1');
    expect(metrics).toContain('croupier_http_requests_total{method="GET",status="404"} 1');
    expect(metrics).toContain('croupier_http_requests_total{method="POST",status="400"} 1');
    expect(metrics).toContain('croupier_http_requests_total{method="POST",status="201"} 1');
  });

  test("health - draining closes open sockets with 1012", async () => {
    const node = await startTestNode();
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    const stopped = node.stop();
    expect(await socket.waitForClose()).toBe(1012);
    await stopped;
    await node[Symbol.asyncDispose]();
  });

  test("health - with a drain notice, readiness is 503 while open sockets still play, then they close", async () => {
    const node = await startTestNode({ drainNoticeMs: 2_000 });
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    const stopped = node.stop();
    const ready = await http(node, "GET", "/health/ready");
    expect(ready.status).toBe(503);
    const upgrade = await upgradeRequest(node, `?token=${token}`);
    expect(upgrade.status).toBe(503);
    // Still served during the notice: the socket's player can finish what it was doing.
    socket.send({ type: "spin", id: "during-notice", game: "slot", bet: 20 });
    expect((await socket.waitFor((m) => m.id === "during-notice")).type).toBe("spin.result");
    expect(socket.isOpen).toBe(true);
    expect(await socket.waitForClose(10_000)).toBe(1012);
    await stopped;
    await node[Symbol.asyncDispose]();
  });

  test("health - the embedded defaults start a node with nothing configured", async () => {
    await using node = await startTestNode();
    const tables = await http(node, "GET", "/v1/tables");
    expect(tables).toEqual({
      status: 200,
      body: {
        tables: [
          {
            table: "roulette-1",
            game: "roulette",
            players: 0,
            minBet: 100,
            maxBet: 100_000,
            bettingWindowMs: 15_000,
            voidedRounds: 0,
          },
        ],
      },
    });
    const { token, playerId } = await newSession(node);
    const wallet = await http(node, "GET", "/v1/wallet", { token });
    expect(wallet.body).toEqual({
      playerId,
      balance: node.config.startingBalance,
      currency: "EUR",
    });
  });

  test("health - the biggest-win leaderboard ranks settled slot wins, off the money path", async () => {
    await using node = await startTestNode();
    const { token, playerId } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    let best = 0;
    // Spin until some win lands (hit frequency is about 28%), bounded.
    for (let i = 0; i < 200 && best === 0; i++) {
      socket.send({ type: "spin", id: `lb-${i}`, game: "slot", bet: 100 });
      const reply = await socket.waitFor((m) => m.id === `lb-${i}`);
      best = Math.max(best, reply.win);
    }
    expect(best).toBeGreaterThan(0);
    const deadline = performance.now() + 2_000;
    let board = await http(node, "GET", "/v1/leaderboard?board=biggest-win&limit=5");
    while (board.body.entries.length === 0 && performance.now() < deadline) {
      await Bun.sleep(5);
      board = await http(node, "GET", "/v1/leaderboard?board=biggest-win&limit=5");
    }
    expect(board).toEqual({
      status: 200,
      body: { board: "biggest-win", entries: [{ rank: 1, playerId, score: best }] },
    });
    expect((await http(node, "GET", "/v1/leaderboard?limit=0")).status).toBe(400);
    for (const name of ["NO_SUCH", "nope", "biggest-wins"]) {
      const unknown = await http(node, "GET", `/v1/leaderboard?board=${name}`);
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.code).toBe("NOT_FOUND");
      expect(unknown.body.error.message).toContain("boards: biggest-win");
    }
    socket.close();
  });

  test("health - a win whose first answer was lost with its commit in doubt still reaches the leaderboard", async () => {
    const ledger = await openTempLedger();
    // Each test spin's write commits, then its answer is lost (the node answers INTERNAL).
    const lossy = ledgerWithMethod(ledger, "write", async (write) => {
      const outcome = await ledger.write(write);
      if (outcome.status === "committed" && write.commandId.startsWith("doubt-"))
        throw new Error("the answer was lost (test)");
      return outcome;
    });
    await using node = await startTestNode({}, {}, { ledger: lossy });
    const { token, playerId } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    let win = 0;
    for (let i = 0; i < 200 && win === 0; i++) {
      socket.send({ type: "spin", id: `doubt-${i}`, game: "slot", bet: 100 });
      expect(await socket.waitFor((m) => m.id === `doubt-${i}`)).toMatchObject({
        code: "INTERNAL",
      });
      socket.send({ type: "spin", id: `doubt-${i}`, game: "slot", bet: 100 });
      const stored = await socket.waitFor((m) => m.id === `doubt-${i}` && m.type === "spin.result");
      win = stored.win;
    }
    expect(win).toBeGreaterThan(0);
    await waitFor(
      async () =>
        (await http(node, "GET", "/v1/leaderboard?board=biggest-win&limit=5")).body.entries[0]
          ?.score === win,
      5_000,
      "the win on the board",
    );
    const board = await http(node, "GET", "/v1/leaderboard?board=biggest-win&limit=5");
    expect(board.body.entries).toEqual([{ rank: 1, playerId, score: win }]);
    socket.close();
  });
});
