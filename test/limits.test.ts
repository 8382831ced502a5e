import { afterAll, describe, expect, test } from "bun:test";
import { openTempLedger, removeDataDirs } from "../src/store/embedded/testing/tempLedger.ts";
import { ledgerWithMethod } from "../src/testing/ledgerWithMethod.ts";
import { createTestDatabase } from "../src/testing/postgresTestDb.ts";
import {
  balanceOf,
  http,
  newSession,
  RecordingSocket,
  startTestNode,
  uniquePlayerId,
  upgradeRequest,
} from "./harness.ts";

const operatorKey = "test-operator-key-limits-0123456789";
const hourMs = 3_600_000;

const availability = await createTestDatabase();
afterAll(async () => {
  await availability.database?.drop();
  removeDataDirs();
});
const postgresUrl = availability.database?.url;

type NodeEnv = Record<string, string>;

/** Spins until the loss limit refuses one; every accepted spin fits, the refused one would not. */
async function lossLimitScenario(env: NodeEnv): Promise<void> {
  await using node = await startTestNode(
    { startingBalance: 0 },
    { ...env, OPERATOR_KEY: operatorKey },
  );
  const playerId = uniquePlayerId("limit");
  const { token } = await newSession(node, playerId, operatorKey);
  const deposit = await http(node, "POST", "/v1/wallet/deposit", {
    token: operatorKey,
    body: { playerId, amount: 100_000, id: "d1" },
  });
  expect(deposit.status).toBe(200);
  const limit = 200;
  const set = await http(node, "PUT", `/v1/players/${playerId}/limits`, {
    token: operatorKey,
    body: { lossLimitPerDay: limit },
  });
  expect(set).toEqual({
    status: 200,
    body: { playerId, selfExcludedUntil: null, lossLimitPerDay: limit },
  });
  const socket = await RecordingSocket.open(node, token);
  const bet = 100;
  let loss = 0;
  let refused: any;
  for (let n = 0; n < 2_000 && refused === undefined; n++) {
    const id = `spin-${n}`;
    socket.send({ type: "spin", id, game: "slot", bet });
    const reply = await socket.waitFor((m) => m.id === id);
    if (reply.type === "error") {
      refused = reply;
      break;
    }
    expect(reply.type).toBe("spin.result");
    expect(loss + bet).toBeLessThanOrEqual(limit);
    loss += bet - reply.win;
  }
  expect(refused).toMatchObject({ type: "error", code: "LIMIT_EXCEEDED" });
  expect(loss + bet).toBeGreaterThan(limit);
  // Nothing moved, and the id stays unused: history has no entry for it.
  const balance = await balanceOf(node, token);
  expect(balance).toBe(100_000 - loss);
  const history = await http(node, "GET", "/v1/wallet/history?limit=200", { token });
  expect(history.body.entries.some((e: { id: string }) => e.id === refused.id)).toBe(false);
  // Lifting the limit lets the same id through.
  await http(node, "PUT", `/v1/players/${playerId}/limits`, {
    token: operatorKey,
    body: { lossLimitPerDay: null },
  });
  socket.messages.length = 0;
  socket.send({ type: "spin", id: refused.id, game: "slot", bet });
  expect(await socket.waitFor((m) => m.id === refused.id)).toMatchObject({ type: "spin.result" });
  expect((await node.context.ledger.audit()).ok).toBe(true);
  socket.close();
}

/** Exclusion closes open sockets with 4001, refuses new sessions and refuses bets. */
async function selfExclusionScenario(env: NodeEnv): Promise<void> {
  // Dev mode without an operator key: the player's own token may set its limits.
  await using node = await startTestNode({}, env);
  const { token, playerId } = await newSession(node);
  const spare = await newSession(node, playerId); // a session with no socket open yet
  const first = await RecordingSocket.open(node, token);
  const second = await RecordingSocket.open(node, token);
  first.send({ type: "spin", id: "before", game: "slot", bet: 100 });
  const before = await first.waitFor((m) => m.id === "before");
  expect(before.type).toBe("spin.result");
  const other = await newSession(node);
  const forbidden = await http(node, "PUT", `/v1/players/${playerId}/limits`, {
    token: other.token,
    body: { selfExcludedUntil: new Date(Date.now() + hourMs).toISOString() },
  });
  expect(forbidden.status).toBe(403);
  const until = new Date(Date.now() + hourMs).toISOString();
  const set = await http(node, "PUT", `/v1/players/${playerId}/limits`, {
    token,
    body: { selfExcludedUntil: until },
  });
  expect(set).toEqual({
    status: 200,
    body: { playerId, selfExcludedUntil: until, lossLimitPerDay: null },
  });
  expect(await first.waitForClose()).toBe(4001);
  expect(await second.waitForClose()).toBe(4001);
  const session = await http(node, "POST", "/v1/sessions", { body: { playerId } });
  expect(session.status).toBe(403);
  expect(session.body.error.code).toBe("SELF_EXCLUDED");
  // A session made before the exclusion cannot connect either (its wallet stays readable).
  const upgrade = await upgradeRequest(node, `?token=${spare.token}`);
  expect(upgrade.status).toBe(403);
  expect(((await upgrade.json()) as { error: { code: string } }).error.code).toBe("SELF_EXCLUDED");
  const balance = await balanceOf(node, spare.token);
  // Every bet is refused by the player actor, whatever reaches it.
  for (const id of ["after-1", "after-2"]) {
    const refused = await node.context
      .askPlayer(playerId, { type: "spin", id, game: "slot", bet: 100 })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refused).toMatchObject({ code: "SELF_EXCLUDED" });
  }
  // A retry of the bet accepted before the exclusion still gets its stored reply.
  const retry = await node.context.askPlayer(playerId, {
    type: "spin",
    id: "before",
    game: "slot",
    bet: 100,
  });
  expect(retry.type === "command" && JSON.parse(retry.reply)).toEqual(before);
  expect(await balanceOf(node, spare.token)).toBe(balance);
  // The ledger itself refuses, whatever the actor's hint says.
  const state = await node.context.ledger.loadPlayer(playerId);
  const write = await node.context.ledger.write({
    playerId,
    commandId: "direct",
    requestHash: "spin:slot:100",
    seq: state.seq + 1,
    postings: [
      { account: `player:${playerId}`, amount: -100, kind: "bet" },
      { account: "house:slot", amount: 100 },
    ],
    reply: "{}",
    event: "{}",
    wager: { amount: 100 },
  });
  expect(write).toEqual({ status: "self_excluded" });
}

describe("player limits", () => {
  test("limits - a daily loss limit reached mid-session over WebSocket gives LIMIT_EXCEEDED and moves nothing", async () => {
    await lossLimitScenario({});
  });

  test("limits - self-exclusion closes open sockets with 4001, refuses new sessions with 403 and refuses bets", async () => {
    await selfExclusionScenario({});
  });

  test("limits - a player's own token changes limits at most ten at once then one a second; the same limits again write nothing", async () => {
    const ledger = await openTempLedger();
    let stored = 0;
    const counted = ledgerWithMethod(ledger, "setLimits", (playerId, limits) => {
      stored += 1;
      return ledger.setLimits(playerId, limits);
    });
    await using node = await startTestNode({}, {}, { ledger: counted });
    const { token, playerId } = await newSession(node);
    const path = `/v1/players/${playerId}/limits`;
    const set = await http(node, "PUT", path, { token, body: { lossLimitPerDay: 5_000 } });
    expect(set.status).toBe(200);
    const again = await http(node, "PUT", path, { token, body: { lossLimitPerDay: 5_000 } });
    expect(again.body).toEqual(set.body);
    expect(stored).toBe(1);
    // Stricter each time, as a player may: the burst passes, then the rate refuses.
    const answers: number[] = [];
    for (let limit = 4_999; limit > 4_980; limit--)
      answers.push(
        (await http(node, "PUT", path, { token, body: { lossLimitPerDay: limit } })).status,
      );
    const accepted = answers.filter((status) => status === 200).length;
    expect(accepted).toBeGreaterThanOrEqual(7); // the burst, less the two requests above
    expect(accepted).toBeLessThanOrEqual(10);
    expect(answers.slice(accepted).every((status) => status === 429)).toBe(true);
    expect(stored).toBe(1 + accepted);
    // A refused change changed nothing.
    expect((await node.context.ledger.getLimits(playerId)).lossLimitPerDay).toBe(5_000 - accepted);
  });

  test("limits - PUT limits needs the operator key in operator mode and validates its body", async () => {
    await using node = await startTestNode({ startingBalance: 0 }, { OPERATOR_KEY: operatorKey });
    const playerId = uniquePlayerId("auth");
    const { token } = await newSession(node, playerId, operatorKey);
    const path = `/v1/players/${playerId}/limits`;
    expect((await http(node, "PUT", path, { token, body: { lossLimitPerDay: 1 } })).status).toBe(
      403,
    );
    expect((await http(node, "PUT", path, { body: { lossLimitPerDay: 1 } })).status).toBe(401);
    for (const body of [
      { selfExcludedUntil: "tomorrow" },
      { selfExcludedUntil: "2030-02-30T00:00:00Z" },
      { selfExcludedUntil: "2030-01-01T00:00:00" },
      { selfExcludedUntil: 1_900_000_000_000 },
      { lossLimitPerDay: -1 },
      { lossLimitPerDay: 1.5 },
      { lossLimitPerDay: "100" },
    ]) {
      const response = await http(node, "PUT", path, { token: operatorKey, body });
      expect({ body, status: response.status, code: response.body?.error?.code }).toEqual({
        body,
        status: 400,
        code: "BAD_REQUEST",
      });
    }
    expect((await node.context.ledger.getLimits(playerId)).lossLimitPerDay).toBeNull();
    // Fields left out keep their value; null clears.
    const until = "2030-01-01T12:00:00.000Z";
    await http(node, "PUT", path, { token: operatorKey, body: { lossLimitPerDay: 500 } });
    const both = await http(node, "PUT", path, {
      token: operatorKey,
      body: { selfExcludedUntil: "2030-01-01T14:00:00+02:00" },
    });
    expect(both.body).toEqual({ playerId, selfExcludedUntil: until, lossLimitPerDay: 500 });
    const cleared = await http(node, "PUT", path, {
      token: operatorKey,
      body: { selfExcludedUntil: null },
    });
    expect(cleared.body).toEqual({ playerId, selfExcludedUntil: null, lossLimitPerDay: 500 });
  });

  test("limits - a player's own token makes limits stricter, never looser", async () => {
    await using node = await startTestNode();
    const { token, playerId } = await newSession(node);
    const put = (body: object) =>
      http(node, "PUT", `/v1/players/${playerId}/limits`, { token, body });
    expect((await put({ lossLimitPerDay: 500 })).status).toBe(200);
    expect((await put({ lossLimitPerDay: 400 })).status).toBe(200);
    for (const looser of [{ lossLimitPerDay: 401 }, { lossLimitPerDay: null }]) {
      const refused = await put(looser);
      expect({ looser, status: refused.status, code: refused.body.error.code }).toEqual({
        looser,
        status: 403,
        code: "FORBIDDEN",
      });
    }
    const inAnHour = new Date(Date.now() + hourMs).toISOString();
    const inTwo = new Date(Date.now() + 2 * hourMs).toISOString();
    expect((await put({ selfExcludedUntil: inTwo })).status).toBe(200);
    for (const looser of [{ selfExcludedUntil: inAnHour }, { selfExcludedUntil: null }]) {
      expect((await put(looser)).status).toBe(403);
    }
    expect(await node.context.ledger.getLimits(playerId)).toEqual({
      selfExcludedUntil: Date.parse(inTwo),
      lossLimitPerDay: 400,
    });
  });

  test("limits - in dev mode a player sets their own limits, never another player's", async () => {
    await using node = await startTestNode();
    const { token, playerId } = await newSession(node);
    const other = await newSession(node);
    const own = await http(node, "PUT", `/v1/players/${playerId}/limits`, {
      token,
      body: { lossLimitPerDay: 100 },
    });
    expect(own.body).toEqual({ playerId, selfExcludedUntil: null, lossLimitPerDay: 100 });
    const theirs = await http(node, "PUT", `/v1/players/${other.playerId}/limits`, {
      token,
      body: { lossLimitPerDay: 1 },
    });
    expect(theirs.status).toBe(403);
    expect((await node.context.ledger.getLimits(other.playerId)).lossLimitPerDay).toBeNull();
  });
});

const describePostgres = postgresUrl === undefined ? describe.skip : describe;

describePostgres("player limits on postgres", () => {
  test("limits - postgres node: the loss limit is enforced in the ledger transaction", async () => {
    await lossLimitScenario({ DATABASE_URL: postgresUrl as string });
  });

  test("limits - postgres node: self-exclusion closes sockets, refuses sessions and bets", async () => {
    await selfExclusionScenario({ DATABASE_URL: postgresUrl as string });
  });
});
