import { describe, expect, test } from "bun:test";
import { balanceOf, http, newSession, RecordingSocket, startTestNode } from "./harness.ts";

describe("bad input", () => {
  test("bad input - every malformed command gets its error, the socket survives, nothing moves", async () => {
    await using node = await startTestNode({ slotBetMin: 40 });
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    const welcome = socket.messages[0];
    const cases: { frame: unknown; code: string; id: string | null }[] = [
      { frame: "{not json", code: "BAD_REQUEST", id: null },
      { frame: "[1,2,3]", code: "BAD_REQUEST", id: null },
      { frame: "17", code: "BAD_REQUEST", id: null },
      { frame: { type: "spin", game: "slot", bet: 100 }, code: "BAD_REQUEST", id: null },
      {
        frame: { type: "spin", id: "has space", game: "slot", bet: 100 },
        code: "BAD_REQUEST",
        id: null,
      },
      { frame: { id: "no-type" }, code: "BAD_REQUEST", id: "no-type" },
      { frame: { type: "dance", id: "unknown-type" }, code: "BAD_REQUEST", id: "unknown-type" },
      {
        frame: { type: "spin", id: "float", game: "slot", bet: 100.5 },
        code: "BAD_REQUEST",
        id: "float",
      },
      {
        frame: { type: "spin", id: "negative", game: "slot", bet: -100 },
        code: "BAD_REQUEST",
        id: "negative",
      },
      {
        frame: { type: "spin", id: "zero", game: "slot", bet: 0 },
        code: "BAD_REQUEST",
        id: "zero",
      },
      {
        frame: { type: "spin", id: "string", game: "slot", bet: "100" },
        code: "BAD_REQUEST",
        id: "string",
      },
      {
        frame: { type: "spin", id: "unsafe", game: "slot", bet: 2 ** 53 },
        code: "BAD_REQUEST",
        id: "unsafe",
      },
      { frame: { type: "spin", id: "no-bet", game: "slot" }, code: "BAD_REQUEST", id: "no-bet" },
      {
        frame: { type: "spin", id: "game", game: "poker", bet: 100 },
        code: "UNKNOWN_GAME",
        id: "game",
      },
      {
        frame: { type: "spin", id: "step", game: "slot", bet: node.config.slotBetStep + 1 },
        code: "LIMIT_EXCEEDED",
        id: "step",
      },
      {
        frame: { type: "spin", id: "low", game: "slot", bet: node.config.slotBetStep },
        code: "LIMIT_EXCEEDED",
        id: "low",
      },
      {
        frame: {
          type: "spin",
          id: "high",
          game: "slot",
          bet: node.config.slotBetMax + node.config.slotBetStep,
        },
        code: "LIMIT_EXCEEDED",
        id: "high",
      },
      {
        frame: { type: "table.join", id: "table", table: "nowhere" },
        code: "UNKNOWN_TABLE",
        id: "table",
      },
    ];
    for (const [index, testCase] of cases.entries()) {
      socket.send(testCase.frame);
      // A ping after each case proves the connection survived and keeps replies in step.
      socket.send({ type: "ping", id: `alive-${index}` });
      await socket.waitFor((m) => m.id === `alive-${index}`);
    }
    const errors = socket.messages.filter((m) => m.type === "error");
    expect(errors.map((e) => ({ code: e.code, id: e.id }))).toEqual(
      cases.map((c) => ({ code: c.code, id: c.id })),
    );
    for (const error of errors) expect(typeof error.message).toBe("string");
    expect(socket.isOpen).toBe(true);
    expect(await balanceOf(node, token)).toBe(welcome.balance);
    // The refused ids stay unused: a valid spin with one of them now goes through.
    socket.send({ type: "spin", id: "float", game: "slot", bet: node.config.slotBetMin });
    const spin = await socket.waitFor((m) => m.id === "float" && m.type === "spin.result");
    expect(spin.seq).toBe(welcome.seq + 1);
    socket.close();
  });

  test("bad input - a full mailbox answers BUSY at once, moves nothing and leaves the id unused", async () => {
    await using node = await startTestNode({ mailboxCapacity: 1 });
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    const welcome = socket.messages[0];
    const bet = node.config.slotBetMin;
    for (let i = 0; i < 30; i++) socket.send({ type: "spin", id: `burst-${i}`, game: "slot", bet });
    const answers = await socket.waitForCount((m) => String(m.id).startsWith("burst-"), 30, 10_000);
    const busy = answers.filter((m) => m.type === "error");
    const done = answers.filter((m) => m.type === "spin.result");
    expect(busy.length).toBeGreaterThan(0);
    for (const error of busy) expect(error.code).toBe("BUSY");
    expect(done.length + busy.length).toBe(30);
    const last = done.reduce((a, b) => (a.seq > b.seq ? a : b));
    expect(last.seq).toBe(welcome.seq + done.length);
    expect(await balanceOf(node, token)).toBe(last.balance);
    const retryId = busy[0].id;
    socket.send({ type: "spin", id: retryId, game: "slot", bet });
    const retried = await socket.waitFor((m) => m.id === retryId && m.type === "spin.result");
    expect(retried.seq).toBe(last.seq + 1);
    socket.close();
  });

  test("bad input - a chunked body past the server's own cap is refused, not logged as an internal error", async () => {
    await using node = await startTestNode();
    const { token } = await newSession(node);
    const logged: unknown[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => logged.push(args);
    try {
      const response = await postChunked(`${node.httpUrl}/v1/wallet/deposit`, token, 70);
      expect(response.status).toBe(413);
      await response.arrayBuffer();
      expect(await balanceOf(node, token)).toBe(node.config.startingBalance);
    } finally {
      console.error = consoleError;
    }
    expect(logged).toEqual([]);
  });

  test("bad input - HTTP errors are typed and change nothing", async () => {
    await using node = await startTestNode();
    const { token, playerId } = await newSession(node);
    const before = await balanceOf(node, token);
    const expectError = async (
      response: Promise<{ status: number; body: any }>,
      status: number,
      code: string,
    ) => {
      const { status: actual, body } = await response;
      expect({ status: actual, code: body?.error?.code }).toEqual({ status, code });
    };
    await expectError(
      http(node, "POST", "/v1/sessions", { body: { playerId: "bad id!" } }),
      400,
      "BAD_REQUEST",
    );
    await expectError(http(node, "POST", "/v1/sessions", { rawBody: "{oops" }), 400, "BAD_REQUEST");
    await expectError(
      http(node, "POST", "/v1/sessions", {
        rawBody: JSON.stringify({ playerId: "x".repeat(20_000) }),
      }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    // A chunked body declares no length: it is read up to the limit, then refused the same way.
    const chunked = await postChunked(`${node.httpUrl}/v1/wallet/deposit`, token, 20);
    await expectError(
      chunked.json().then((body) => ({ status: chunked.status, body })),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    // A body that starts with a UTF-8 byte-order mark is still JSON.
    const withMark = await http(node, "POST", "/v1/sessions", {
      rawBody: `\uFEFF${JSON.stringify({ playerId: "bom-1" })}`,
    });
    expect(withMark.status).toBe(201);
    await expectError(http(node, "GET", "/v1/wallet"), 401, "UNAUTHENTICATED");
    await expectError(http(node, "GET", "/v1/wallet", { token: "forged" }), 401, "UNAUTHENTICATED");
    await expectError(
      http(node, "GET", "/v1/wallet/history?limit=0", { token }),
      400,
      "BAD_REQUEST",
    );
    await expectError(
      http(node, "GET", "/v1/wallet/history?before=abc", { token }),
      400,
      "BAD_REQUEST",
    );
    await expectError(http(node, "GET", "/v1/rounds/no-such-round", { token }), 404, "NOT_FOUND");
    // Without a token, any id that is not a table round's is 401, however long (it says nothing
    // of which ids exist); with one, an id longer than any round's is simply not found.
    for (const roundId of ["no-such-round", "a".repeat(128), "a".repeat(129), "a".repeat(2_000)]) {
      await expectError(http(node, "GET", `/v1/rounds/${roundId}`), 401, "UNAUTHENTICATED");
      await expectError(http(node, "GET", `/v1/rounds/${roundId}`, { token }), 404, "NOT_FOUND");
    }
    await expectError(http(node, "GET", "/v1/nowhere"), 404, "NOT_FOUND");
    for (const amount of [1.5, -5, 0, "10", 2 ** 53, null]) {
      await expectError(
        http(node, "POST", "/v1/wallet/deposit", {
          token,
          body: { playerId, amount, id: `d-${amount}` },
        }),
        400,
        "BAD_REQUEST",
      );
    }
    await expectError(
      http(node, "POST", "/v1/wallet/deposit", { token, body: { playerId, amount: 10 } }),
      400,
      "BAD_REQUEST",
    );
    await expectError(
      http(node, "POST", "/v1/wallet/deposit", {
        token,
        body: { playerId: "someone-else", amount: 10, id: "x" },
      }),
      403,
      "FORBIDDEN",
    );
    expect(await balanceOf(node, token)).toBe(before);
  });
});

/** POSTs `chunks` chunks of 1,000 spaces with no declared length (chunked transfer encoding). */
function postChunked(url: string, token: string, chunks: number): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "transfer-encoding": "chunked" },
    body: new ReadableStream({
      start(controller) {
        for (let i = 0; i < chunks; i++) controller.enqueue(new Uint8Array(1_000).fill(0x20));
        controller.close();
      },
    }),
    duplex: "half",
  } as RequestInit);
}
