import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { CutProxy } from "../src/store/postgres/testing/cutProxy.ts";
import { runAuditCli } from "../src/testing/auditRun.ts";
import { createTestDatabase } from "../src/testing/postgresTestDb.ts";
import { waitFor } from "../src/testing/waitFor.ts";
import { balanceOf, http, newSession, RecordingSocket, startTestNode } from "./harness.ts";

const availability = await createTestDatabase();
afterAll(async () => {
  await availability.database?.drop();
});
if (availability.skipReason !== undefined)
  console.warn(`skipping postgres outage tests: ${availability.skipReason}`);
const describePostgres = availability.database === undefined ? describe.skip : describe;

/** Longest any command may wait for its reply, outage or not: a reply, never a hang. */
const replyBoundMs = 5_000;
/** Longest the node may take to notice the outage, and to notice the database is back. */
const readinessBoundMs = 5_000;
const players = 8;
const bet = 20;
const startingBalance = 100_000;

/** Sends `frame` and resolves with the first message carrying its id received after the send. */
async function reply(socket: RecordingSocket, frame: { id: string }, timeoutMs: number) {
  const from = socket.messages.length;
  socket.send(frame);
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    for (let index = from; index < socket.messages.length; index++) {
      const message = socket.messages[index];
      if (message.id === frame.id) return message;
    }
    if (socket.closeCode !== undefined)
      throw new Error(`socket closed (${socket.closeCode}) while waiting for ${frame.id}`);
    if (performance.now() > deadline)
      throw new Error(`no reply to ${frame.id} within ${timeoutMs} ms`);
    await Bun.sleep(1);
  }
}

function spin(id: string) {
  return { type: "spin", id, game: "slot", bet };
}

interface Player {
  token: string;
  playerId: string;
  socket: RecordingSocket;
  /** Every spin.result received, by command id. */
  acknowledged: Map<string, any>;
  /** Ids answered with an error: their outcome is for the retry to tell. */
  unacknowledged: Map<string, string>;
  /** Results received after the database came back. */
  resultsAfterRestore: number;
  errorsDuringCut: number;
  slowestReplyMs: number;
}

type Phase = "before" | "cut" | "restored";

/** Every bet entry of the player's history, newest first, all pages. */
async function betHistory(node: { httpUrl: string }, token: string): Promise<string[]> {
  const ids: string[] = [];
  let before: string | null = null;
  for (let page = 0; page < 1_000; page++) {
    const query: string = before === null ? "" : `&before=${before}`;
    const response = await http(node, "GET", `/v1/wallet/history?limit=200${query}`, { token });
    expect(response.status).toBe(200);
    for (const entry of response.body.entries) if (entry.kind === "bet") ids.push(entry.id);
    before = response.body.next;
    if (before === null) return ids;
  }
  throw new Error("history did not end within 1000 pages");
}

describePostgres("outage - Postgres", () => {
  const database = availability.database;

  test("outage - Postgres cut under load: fast errors, readiness follows, recovery, every acknowledged spin exactly once", async () => {
    if (database === undefined) throw new Error("no test database");
    const upstream = new URL(database.url);
    const proxy = CutProxy.start(upstream.hostname, Number(upstream.port || 5432));
    const viaProxy = new URL(database.url);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    const admin = postgres(database.adminUrl, { max: 1, onnotice: () => {} });
    try {
      await using node = await startTestNode(
        {
          askTimeoutMs: 3_000,
          databaseConnectTimeoutMs: 1_000,
          databaseAcquireTimeoutMs: 1_000,
        },
        { DATABASE_URL: viaProxy.toString() },
      );
      expect((await http(node, "GET", "/health/ready")).status).toBe(200);

      const all: Player[] = [];
      for (let index = 0; index < players; index++) {
        const { token, playerId } = await newSession(node);
        all.push({
          token,
          playerId,
          socket: await RecordingSocket.open(node, token),
          acknowledged: new Map(),
          unacknowledged: new Map(),
          resultsAfterRestore: 0,
          errorsDuringCut: 0,
          slowestReplyMs: 0,
        });
      }

      let phase: Phase = "before";
      let stopping = false;
      let failure: unknown;
      const check = () => {
        if (failure !== undefined) throw failure;
      };
      const spinners = all.map(async (player) => {
        try {
          for (let n = 0; !stopping; n++) {
            const id = `load-${n}`;
            const startedMs = performance.now();
            const answer = await reply(player.socket, spin(id), replyBoundMs);
            player.slowestReplyMs = Math.max(player.slowestReplyMs, performance.now() - startedMs);
            if (answer.type === "spin.result") {
              player.acknowledged.set(id, answer);
              if (phase === "restored") player.resultsAfterRestore += 1;
            } else if (answer.type === "error" && ["BUSY", "INTERNAL"].includes(answer.code)) {
              player.unacknowledged.set(id, answer.code);
              if (phase === "cut") player.errorsDuringCut += 1;
            } else {
              throw new Error(`unexpected reply to ${id}: ${JSON.stringify(answer)}`);
            }
          }
        } catch (error) {
          failure ??= error;
        }
      });

      await waitFor(
        () => {
          check();
          return all.every((player) => player.acknowledged.size >= 50);
        },
        10_000,
        "every player to have 50 spins acknowledged",
      );

      // Cut: every byte through the proxy vanishes and the sessions behind it are ended, so
      // open connections drop and new ones never finish their handshake.
      phase = "cut";
      proxy.blackHole(true);
      await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                  WHERE datname = ${database.name} AND pid <> pg_backend_pid()`;
      const cutAtMs = performance.now();
      await waitFor(
        async () => {
          check();
          const ready = await http(node, "GET", "/health/ready");
          return ready.status === 503 && ready.body.failing.includes("ledger");
        },
        readinessBoundMs,
        "/health/ready to be 503 with ledger failing",
      );
      const notReadyAfterMs = performance.now() - cutAtMs;
      await waitFor(
        () => {
          check();
          return all.every((player) => player.errorsDuringCut >= 3);
        },
        4 * replyBoundMs,
        "every player to get 3 error replies during the cut",
      );
      expect(await http(node, "GET", "/health/ready")).toMatchObject({
        status: 503,
        body: { status: "not-ready", failing: ["ledger"] },
      });

      phase = "restored";
      proxy.blackHole(false);
      const restoredAtMs = performance.now();
      await waitFor(
        async () => {
          check();
          return (await http(node, "GET", "/health/ready")).status === 200;
        },
        readinessBoundMs,
        "/health/ready to be 200 again",
      );
      const readyAgainAfterMs = performance.now() - restoredAtMs;
      await waitFor(
        () => {
          check();
          return all.every((player) => player.resultsAfterRestore >= 20);
        },
        10_000,
        "every player to have 20 spins acknowledged after the restore",
      );
      stopping = true;
      await Promise.all(spinners);
      check();
      for (const player of all) expect(player.slowestReplyMs).toBeLessThan(replyBoundMs);

      // Retries: an acknowledged id answers its original reply; an unacknowledged one applies
      // now or was applied already, and a second retry answers the same.
      const finalReplies = await Promise.all(
        all.map(async (player) => {
          const finals = new Map<string, any>(player.acknowledged);
          for (const [id, original] of player.acknowledged) {
            expect(await reply(player.socket, spin(id), replyBoundMs)).toEqual(original);
          }
          for (const id of player.unacknowledged.keys()) {
            const first = await reply(player.socket, spin(id), replyBoundMs);
            expect({ id, type: first.type }).toEqual({ id, type: "spin.result" });
            expect(await reply(player.socket, spin(id), replyBoundMs)).toEqual(first);
            finals.set(id, first);
          }
          return finals;
        }),
      );

      // The ledger: each id's bet exactly once, and the balance is the sum of those spins.
      for (const [index, player] of all.entries()) {
        const finals = finalReplies[index] as Map<string, any>;
        const bets = await betHistory(node, player.token);
        const counts = new Map<string, number>();
        for (const id of bets) counts.set(id, (counts.get(id) ?? 0) + 1);
        expect([...counts.entries()].filter(([, count]) => count !== 1)).toEqual([]);
        expect(new Set(counts.keys())).toEqual(new Set(finals.keys()));
        let expected = startingBalance;
        for (const result of finals.values()) expected += result.win - result.bet;
        expect(await balanceOf(node, player.token)).toBe(expected);
        player.socket.close();
      }

      const report = await node.context.ledger.audit();
      expect(report.failures).toEqual([]);
      expect(report.ok).toBe(true);
      expect(runAuditCli({ databaseUrl: database.url })).toMatchObject({ exit: 0 });

      const acknowledged = all.reduce((sum, player) => sum + player.acknowledged.size, 0);
      const unacknowledged = all.reduce((sum, player) => sum + player.unacknowledged.size, 0);
      console.info(
        `postgres outage: ${acknowledged} spins acknowledged, ${unacknowledged} answered with ` +
          `an error; not ready ${notReadyAfterMs.toFixed(0)} ms after the cut, ready ` +
          `${readyAgainAfterMs.toFixed(0)} ms after the restore; slowest reply ` +
          `${Math.max(...all.map((player) => player.slowestReplyMs)).toFixed(0)} ms`,
      );
    } finally {
      await admin.end({ timeout: 1 });
      proxy.stop();
    }
  });
});
