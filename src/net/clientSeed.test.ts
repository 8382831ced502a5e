import { afterAll, describe, expect, test } from "bun:test";
import { balanceOf, http, newSession, RecordingSocket, startTestNode } from "../../test/harness.ts";
import { fastTable, joinTable, nextOpenRound } from "../../test/tableHelpers.ts";
import { createTestDatabase } from "../testing/postgresTestDb.ts";
import { CommandError, parseCommand } from "./commands.ts";

/**
 * A table bet's `clientSeed` is published with the round and joined with "," in the draw
 * (docs/PROTOCOL.md, "Fairness"): 1-64 characters, no comma, no control character. A seed
 * outside that is BAD_REQUEST at the protocol boundary, before anything reaches the ledger.
 */

function betWithSeed(clientSeed: unknown) {
  return {
    type: "table.bet",
    id: "b1",
    table: "t1",
    bet: { kind: "red" },
    amount: 100,
    clientSeed,
  };
}

function refusalOf(frame: unknown): { code: string; id: string | null } | undefined {
  try {
    parseCommand(frame);
    return undefined;
  } catch (error) {
    if (error instanceof CommandError) return { code: error.code, id: error.commandId };
    throw error;
  }
}

describe("client seeds", () => {
  test("client seeds - control characters U+0000-U+001F and U+007F are BAD_REQUEST", () => {
    const controls = ["\u0000", "\u0001", "\t", "\n", "\r", "\u001b", "\u001f", "\u007f"];
    for (const control of controls) {
      for (const seed of [control, `lucky${control}`, `${control}lucky`]) {
        expect(refusalOf(JSON.stringify(betWithSeed(seed)))).toEqual({
          code: "BAD_REQUEST",
          id: "b1",
        });
      }
    }
  });

  test("client seeds - a comma, the empty string, more than 64 characters or a non-string are BAD_REQUEST", () => {
    for (const seed of ["a,b", ",", "", "x".repeat(65), 42, null, ["a"]]) {
      expect(refusalOf(betWithSeed(seed))).toEqual({ code: "BAD_REQUEST", id: "b1" });
    }
  });

  test("client seeds - a lone surrogate, which has no UTF-8 form, is BAD_REQUEST", () => {
    for (const seed of ["\ud800", "a\udfff", "\udc00\ud83d", "😀\ud83d"]) {
      // JSON.stringify writes a lone surrogate as an escape, as a client's JSON may.
      expect(refusalOf(JSON.stringify(betWithSeed(seed)))).toEqual({
        code: "BAD_REQUEST",
        id: "b1",
      });
    }
  });

  test("client seeds - printable text of any script, spaces included, is accepted as sent", () => {
    for (const seed of ["lucky", "a b", "é", "😀", "ｚ", "\u00a0", "x".repeat(64), '"quoted"\\']) {
      expect(parseCommand(JSON.stringify(betWithSeed(seed)))).toMatchObject({ clientSeed: seed });
    }
  });
});

const availability = await createTestDatabase();
afterAll(() => availability.database?.drop());
const testPostgres = availability.database === undefined ? test.skip : test;

describe("client seeds on a postgres node", () => {
  const table = "t-seed";

  testPostgres(
    "client seeds - a U+0000 seed moves nothing, keeps the socket and the node ready; a U+0000 round id is not found",
    async () => {
      await using node = await startTestNode(
        { tables: [fastTable(table)] },
        { DATABASE_URL: availability.database?.url as string },
      );
      const { token } = await newSession(node);
      const socket = await RecordingSocket.open(node, token);
      const start = await balanceOf(node, token);
      await joinTable(socket, table);
      const round = await nextOpenRound(socket, table);
      const bet = { type: "table.bet", id: "nul", table, bet: { kind: "red" }, amount: 100 };
      socket.send({ ...bet, clientSeed: "x\u0000" });
      expect(await socket.waitFor((m) => m.id === "nul")).toMatchObject({
        type: "error",
        code: "BAD_REQUEST",
      });
      expect(socket.isOpen).toBe(true);
      expect(await balanceOf(node, token)).toBe(start);
      // The refused id is unused: the same id with a valid seed bets on the same socket.
      socket.messages.length = 0;
      socket.send({ ...bet, roundId: round.roundId, clientSeed: "x" });
      expect(await socket.waitFor((m) => m.id === "nul")).toMatchObject({
        type: "table.bet.accepted",
        roundId: round.roundId,
        balance: start - 100,
      });
      expect((await http(node, "GET", "/health/ready")).status).toBe(200);
      for (const roundId of ["%00", `${round.roundId}%00`]) {
        expect(await http(node, "GET", `/v1/rounds/${roundId}`, { token })).toMatchObject({
          status: 404,
          body: { error: { code: "NOT_FOUND" } },
        });
      }
      expect((await http(node, "GET", "/health/ready")).status).toBe(200);
      socket.close();
    },
  );
});
