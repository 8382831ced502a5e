import { afterAll, describe, expect, test } from "bun:test";
import { openTempLedger, removeDataDirs } from "../src/store/embedded/testing/tempLedger.ts";
import {
  connectClient,
  holdWrites,
  http,
  newSession,
  RecordingSocket,
  startTestNode,
  upgradeRequest,
} from "./harness.ts";

afterAll(removeDataDirs);

describe("replay", () => {
  test("replay - a command whose reply timed out still delivers its seq to its own socket", async () => {
    const held = holdWrites(await openTempLedger());
    await using node = await startTestNode({ askTimeoutMs: 200 }, {}, { ledger: held.ledger });
    const { token } = await newSession(node);
    const socket = await RecordingSocket.open(node, token);
    const welcome = await socket.waitFor((m) => m.type === "welcome");
    held.hold("slow");
    socket.send({ type: "spin", id: "slow", game: "slot", bet: 100 });
    const timedOut = await socket.waitFor((m) => m.id === "slow");
    expect(timedOut).toMatchObject({ type: "error", code: "INTERNAL" });
    held.release("slow");
    // The commit lands after the reply gave up: the socket gets the message on its own.
    const pushed = await socket.waitFor((m) => m.type === "spin.result" && m.id === "slow");
    expect(pushed.seq).toBe(welcome.seq + 1);
    socket.send({ type: "spin", id: "next", game: "slot", bet: 100 });
    const next = await socket.waitFor((m) => m.type === "spin.result" && m.id === "next");
    expect(next.seq).toBe(welcome.seq + 2);
    const seqs = socket.messages.filter((m) => m.type === "spin.result").map((m) => m.seq);
    expect(seqs).toEqual([welcome.seq + 1, welcome.seq + 2]);
    socket.send({ type: "spin", id: "slow", game: "slot", bet: 100 });
    await socket.waitForCount((m) => m.id === "slow" && m.type === "spin.result", 2);
    const retried = socket.messages.filter((m) => m.id === "slow" && m.type === "spin.result");
    expect(retried[1]).toEqual(pushed);
    socket.close();
  });

  test("replay - sequenced messages reach every socket of the player", async () => {
    await using node = await startTestNode();
    const { token, playerId } = await newSession(node);
    const a = await RecordingSocket.open(node, token);
    const b = await RecordingSocket.open(node, token);
    a.send({ type: "spin", id: "from-a", game: "slot", bet: 100 });
    const onA = await a.waitFor((m) => m.id === "from-a");
    const onB = await b.waitFor((m) => m.id === "from-a");
    expect(onB).toEqual(onA);
    await http(node, "POST", "/v1/wallet/deposit", {
      token,
      body: { playerId, amount: 500, id: "dep-1" },
    });
    const balanceA = await a.waitFor((m) => m.type === "balance" && m.reason === "deposit");
    const balanceB = await b.waitFor((m) => m.type === "balance" && m.reason === "deposit");
    expect(balanceA).toEqual(balanceB);
    expect(balanceA.seq).toBe(onA.seq + 1);
    expect(balanceA.balance).toBe(onA.balance + 500);
    a.close();
    b.close();
  });

  test("replay - reconnecting with lastSeq resends every later sequenced message in order", async () => {
    await using node = await startTestNode();
    const { token, playerId } = await newSession(node);
    const client = await connectClient(node, token);
    const seenAt = client.lastSeq;
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await client.spin(100, `r-${i}`));
    await http(node, "POST", "/v1/wallet/deposit", {
      token,
      body: { playerId, amount: 300, id: "r-dep" },
    });
    client.close();
    const resumed = await RecordingSocket.open(node, token, `&lastSeq=${seenAt}`);
    const replayed = await resumed.waitForCount(
      (m) => typeof m.seq === "number" && m.type !== "welcome",
      6,
    );
    expect(replayed.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6].map((i) => seenAt + i));
    expect(replayed.slice(0, 5)).toEqual(results);
    expect(replayed[5].type).toBe("balance");
    expect(resumed.messages[0].replayFrom).toBeUndefined();
    // A live event after the replay still arrives, once.
    resumed.send({ type: "spin", id: "after-replay", game: "slot", bet: 100 });
    const live = await resumed.waitFor((m) => m.id === "after-replay");
    expect(live.seq).toBe(seenAt + 7);
    resumed.close();
  });

  test("replay - a lastSeq in the future or not an integer is refused with 400", async () => {
    await using node = await startTestNode();
    const { token } = await newSession(node);
    const upgrade = (query: string) => upgradeRequest(node, `?token=${token}${query}`);
    const welcome = (await RecordingSocket.open(node, token)).messages[0];
    for (const query of [
      `&lastSeq=${welcome.seq + 1}`,
      "&lastSeq=-1",
      "&lastSeq=1.5",
      "&lastSeq=abc",
    ]) {
      const response = await upgrade(query);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
        "BAD_REQUEST",
      );
    }
    const ok = await RecordingSocket.open(node, token, `&lastSeq=${welcome.seq}`);
    expect(ok.messages[0].seq).toBe(welcome.seq);
    ok.close();
  });

  test("replay - more missed messages than the replay bound sets replayFrom", async () => {
    await using node = await startTestNode({ replayEventsMax: 3 });
    const { token } = await newSession(node);
    const client = await connectClient(node, token);
    const seenAt = client.lastSeq;
    for (let i = 0; i < 6; i++) await client.spin(100, `far-${i}`);
    client.close();
    const resumed = await RecordingSocket.open(node, token, `&lastSeq=${seenAt}`);
    const welcome = resumed.messages[0];
    expect(welcome.replayFrom).toBe(seenAt + 4);
    const replayed = await resumed.waitForCount((m) => String(m.id).startsWith("far-"), 3);
    expect(replayed.map((m) => m.seq)).toEqual([seenAt + 4, seenAt + 5, seenAt + 6]);
    resumed.close();
  });

  test("replay - the client drops sequenced messages it has already seen", async () => {
    await using node = await startTestNode();
    const { token } = await newSession(node);
    const delivered: number[] = [];
    const client = await connectClient(node, token, {
      onSequenced: (m) => delivered.push(m.seq as number),
    });
    const first = await client.spin(100, "once");
    const again = await client.spin(100, "once");
    expect(again).toEqual(first);
    expect(delivered).toEqual([first.seq as number]);
    client.close();
  });
});
