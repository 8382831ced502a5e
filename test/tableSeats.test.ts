import { afterAll, describe, expect, test } from "bun:test";
import { openTempLedger, removeDataDirs } from "../src/store/embedded/testing/tempLedger.ts";
import { ledgerWithMethod } from "../src/testing/ledgerWithMethod.ts";
import { waitFor } from "../src/testing/waitFor.ts";
import { holdSeats, newSession, RecordingSocket, startTestNode } from "./harness.ts";
import { fastTable, joinTable } from "./tableHelpers.ts";

afterAll(removeDataDirs);

/** A node whose reads of a round's bets take `slowMs` once set (a loaded database): a reconnect's
 * table restore then takes that long, while the socket's own frames already run. */
async function slowRestoreNode() {
  const ledger = await openTempLedger();
  const gate = { slowMs: 0 };
  const slow = ledgerWithMethod(ledger, "tableRoundBets", async (roundId) => {
    if (gate.slowMs > 0) await Bun.sleep(gate.slowMs);
    return ledger.tableRoundBets(roundId);
  });
  const node = await startTestNode(
    { tables: [fastTable("t-a"), fastTable("t-b")] },
    {},
    { ledger: slow },
  );
  return { node, gate };
}

async function reconnectedWhileSlow(seatedAt: string) {
  const { node, gate } = await slowRestoreNode();
  const { token, playerId } = await newSession(node);
  const first = await RecordingSocket.open(node, token);
  await joinTable(first, seatedAt);
  first.close();
  await waitFor(() => node.context.sockets.countOfPlayer(playerId) === 0, 5_000, "the drop");
  gate.slowMs = 300;
  const back = await RecordingSocket.open(node, token);
  return { node, back };
}

describe("table seats on reconnect", () => {
  test("table seats - a table that cannot answer does not cut off a player who is not seated there", async () => {
    const seats = holdSeats(await openTempLedger());
    await using node = await startTestNode(
      { tables: [fastTable("t-a"), fastTable("t-b")], askTimeoutMs: 200 },
      {},
      { ledger: seats.ledger },
    );
    // t-b runs, and a join's stalled seat write holds its turn.
    const seated = await RecordingSocket.open(node, (await newSession(node)).token);
    await joinTable(seated, "t-b");
    const joining = await RecordingSocket.open(node, (await newSession(node)).token);
    seats.hold();
    joining.send({ type: "table.join", id: "stalled", table: "t-b" });
    await seats.reached();
    // A slot player connects: t-b never answers its seat question.
    const bystander = await RecordingSocket.open(node, (await newSession(node)).token);
    const list = await bystander.waitFor((m) => m.type === "table.seats", 15_000);
    expect(list.tables).toEqual([]);
    expect(bystander.isOpen).toBe(true);
    seats.release();
    for (const socket of [seated, joining, bystander]) socket.close();
  });

  test("table seats - a reconnect's table.state comes before the broadcasts that followed it", async () => {
    const ledger = await openTempLedger();
    const gate = { slowMs: 0 };
    const slow = ledgerWithMethod(ledger, "tableRoundBets", async (roundId) => {
      if (gate.slowMs > 0) await Bun.sleep(gate.slowMs);
      return ledger.tableRoundBets(roundId);
    });
    await using node = await startTestNode(
      { tables: [fastTable("t-a", { bettingWindowMs: 400, resultDisplayMs: 100 })] },
      {},
      { ledger: slow },
    );
    const { token, playerId } = await newSession(node);
    const first = await RecordingSocket.open(node, token);
    await joinTable(first, "t-a");
    first.close();
    await waitFor(() => node.context.sockets.countOfPlayer(playerId) === 0, 5_000, "the drop");
    gate.slowMs = 1_200; // rounds go on while the restore reads the player's bets
    const back = await RecordingSocket.open(node, token);
    const state = await back.waitFor((m) => m.type === "table.state", 10_000);
    const before = back.messages.slice(0, back.messages.indexOf(state));
    expect(before.filter((m) => String(m.type).startsWith("table.round"))).toEqual([]);
    // The broadcasts held meanwhile follow it, in order.
    await back.waitFor((m) => m.type === "table.round.closed", 10_000);
    back.close();
  });

  test("table seats - a leave sent while the seats are being restored waits for them: state and list first, then table.left", async () => {
    const { node, back } = await reconnectedWhileSlow("t-a");
    await using _node = node;
    back.send({ type: "table.leave", id: "leave-a", table: "t-a" });
    expect((await back.waitFor((m) => m.id === "leave-a")).type).toBe("table.left");
    const types = back.messages.map((m) => m.type);
    expect(types.indexOf("table.state")).toBeLessThan(types.indexOf("table.seats"));
    expect(types.indexOf("table.seats")).toBeLessThan(types.indexOf("table.left"));
    expect(back.messages.find((m) => m.type === "table.seats").tables).toEqual(["t-a"]);
    expect(await node.context.ledger.tableSeats("t-a")).toEqual([]);
    back.close();
  });

  test("table seats - a join of another table while the seats are being restored is listed with them", async () => {
    const { node, back } = await reconnectedWhileSlow("t-a");
    await using _node = node;
    back.send({ type: "table.join", id: "join-b", table: "t-b" });
    expect((await back.waitFor((m) => m.id === "join-b")).type).toBe("table.joined");
    const seats = await back.waitFor((m) => m.type === "table.seats");
    expect([...seats.tables].sort()).toEqual(["t-a", "t-b"]);
    back.close();
  });
});
