/**
 * The baseline of `bench/table.ts`: a bare Bun WebSocket server where every client is subscribed to
 * one topic, and `GET /publish` sends one event shaped like `table.round.result` to all of them
 * with `server.publish` (encoded once, copied to each subscriber by the server), stamping
 * `decidedAt` just before the publish. Whatever a Croupier table adds on top of this (the durable
 * settle before the result, per-socket checks, the actors, the settlement running alongside) is
 * what the table bench's ratio measures.
 */
const topic = "table:bench";
const seedHex = "ab".repeat(32);

const listener = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(request, server) {
    if (new URL(request.url).pathname === "/publish") {
      const roundId = Bun.randomUUIDv7();
      const decidedAt = new Date().toISOString();
      const text = JSON.stringify({
        type: "table.round.result",
        table: "bench-roulette",
        roundId,
        result: { number: Math.floor(Math.random() * 37) },
        serverSeed: seedHex,
        decidedAt,
      });
      const before = performance.now();
      const sent = server.publish(topic, text);
      const publishMs = performance.now() - before;
      return Response.json({
        roundId,
        decidedAt,
        subscribers: server.subscriberCount(topic),
        sent,
        publishMs,
      });
    }
    if (server.upgrade(request)) return undefined;
    return new Response("websocket only", { status: 400 });
  },
  websocket: {
    maxPayloadLength: 4096,
    perMessageDeflate: false,
    open(ws) {
      ws.subscribe(topic);
      // Like the node's welcome: the client knows it is subscribed once this arrives.
      ws.send('{"type":"welcome"}');
    },
    message() {},
  },
});
console.log(`broadcast listening on ws://127.0.0.1:${listener.port}`);
