import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAuditCli } from "../src/testing/auditRun.ts";
import { spawnNode } from "../src/testing/nodeProcess.ts";
import { http, newSession, RecordingSocket } from "./harness.ts";

const playersCount = 8;

describe("crash", () => {
  test("crash - kill -9 during spins: acknowledged spins are in the ledger once, retries apply at most once", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "croupier-crash-"));
    try {
      const first = await spawnNode({ DATA_DIR: dataDir });
      const players = await Promise.all(
        Array.from({ length: playersCount }, (_, i) =>
          newSession(first, `crash-${process.pid}-${i}`),
        ),
      );
      const sockets = await Promise.all(players.map((p) => RecordingSocket.open(first, p.token)));
      const sent = new Map<string, string[]>(); // playerId -> ids sent
      // Each player fires spins back to back; the node dies under them.
      let stop = false;
      const loops = players.map(async (player, i) => {
        const socket = sockets[i] as RecordingSocket;
        const ids: string[] = [];
        sent.set(player.playerId, ids);
        for (let n = 0; !stop && n < 10_000; n++) {
          const id = `c-${n}`;
          ids.push(id);
          socket.send({ type: "spin", id, game: "slot", bet: 20 });
          try {
            await socket.waitFor((m) => m.id === id, 5_000);
          } catch {
            return; // the node went away
          }
        }
      });
      const acknowledgedCount = () =>
        sockets.reduce(
          (sum, s) => sum + s.messages.filter((m) => m.type === "spin.result").length,
          0,
        );
      const deadline = performance.now() + 20_000;
      while (acknowledgedCount() < 200 && performance.now() < deadline) await Bun.sleep(5);
      first.process.kill(9);
      await first.process.exited;
      stop = true;
      await Promise.all(loops);
      expect(acknowledgedCount()).toBeGreaterThanOrEqual(200);

      expect(runAuditCli({ dataDir })).toMatchObject({ exit: 0 });

      const second = await spawnNode({ DATA_DIR: dataDir });
      try {
        for (const [i, player] of players.entries()) {
          const acknowledged = (sockets[i] as RecordingSocket).messages.filter(
            (m) => m.type === "spin.result",
          );
          const { token } = await newSession(second, player.playerId);
          const socket = await RecordingSocket.open(second, token);
          // Every acknowledged spin returns its stored reply, field for field.
          for (const reply of acknowledged) {
            socket.send({ type: "spin", id: reply.id, game: "slot", bet: 20 });
            expect(await socket.waitFor((m) => m.id === reply.id)).toEqual(reply);
          }
          // Unacknowledged ids: the retry applies at most once, and a second retry gets the same reply.
          const acknowledgedIds = new Set(acknowledged.map((m) => m.id));
          const unacknowledged = (sent.get(player.playerId) ?? []).filter(
            (id) => !acknowledgedIds.has(id),
          );
          for (const id of unacknowledged) {
            socket.send({ type: "spin", id, game: "slot", bet: 20 });
            const once = await socket.waitFor((m) => m.id === id);
            socket.messages.length = 0;
            socket.send({ type: "spin", id, game: "slot", bet: 20 });
            expect(await socket.waitFor((m) => m.id === id)).toEqual(once);
          }
          const history = await http(second, "GET", "/v1/wallet/history?limit=200", { token });
          const betIds = history.body.entries
            .filter((e: { kind: string }) => e.kind === "bet")
            .map((e: { id: string }) => e.id);
          expect(new Set(betIds).size).toBe(betIds.length);
          socket.close();
        }
      } finally {
        second.process.kill(9);
        await second.process.exited;
      }
      expect(runAuditCli({ dataDir })).toMatchObject({ exit: 0 });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
