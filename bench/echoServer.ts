/**
 * The baseline: a bare Bun WebSocket server that parses each JSON frame and sends back a JSON
 * reply with the same id. Whatever Croupier adds on top of this (auth, actors, the ledger's
 * durable write) is what the bench's ratio measures.
 */
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(request, server) {
    if (server.upgrade(request)) return undefined;
    return new Response("websocket only", { status: 400 });
  },
  websocket: {
    maxPayloadLength: 4096,
    perMessageDeflate: false,
    message(ws, message) {
      const frame = JSON.parse(String(message)) as { id: string };
      ws.send(JSON.stringify({ type: "echo", id: frame.id }));
    },
  },
});
console.log(`echo listening on ws://127.0.0.1:${server.port}`);
