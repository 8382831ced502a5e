import type { Socket, TCPSocketListener } from "bun";

/**
 * A TCP proxy in front of Postgres that can lose a COMMIT's answer: once armed, it lets the next
 * COMMIT through, waits until the server has answered it (so the transaction did commit), and
 * then drops the client's connection instead of forwarding the answer. That is the "connection
 * lost during COMMIT" a ledger must report as outcome unknown. It can also turn into a black
 * hole (bytes vanish, connections stay open), as a network that silently drops packets does.
 */

/** `COMMIT\0` as it appears in a simple query ('Q') and in the server's CommandComplete ('C'). */
const commitText = Buffer.from("COMMIT\0");

interface Pair {
  client: Socket<Pair>;
  upstream?: Socket<undefined>;
  /** Bytes not yet taken by each socket (before it opened, or under backpressure). */
  toUpstream: Buffer[];
  toClient: Buffer[];
  commitSent: boolean;
}

/** Writes what the socket takes and keeps the rest, in order, for its drain. */
function flush(socket: Socket<unknown> | undefined, pending: Buffer[]): void {
  if (socket === undefined) return;
  while (pending.length > 0) {
    const chunk = pending[0] as Buffer;
    const written = socket.write(chunk);
    if (written === chunk.length) {
      pending.shift();
    } else {
      pending[0] = chunk.subarray(Math.max(0, written));
      return;
    }
  }
}

export class CutProxy {
  readonly #listener: TCPSocketListener<Pair>;
  #armed = false;
  #blackHole = false;
  /** COMMIT answers the proxy has dropped. */
  cuts = 0;

  private constructor(listener: TCPSocketListener<Pair>) {
    this.#listener = listener;
  }

  static start(upstreamHost: string, upstreamPort: number): CutProxy {
    let proxy: CutProxy | undefined;
    const listener = Bun.listen<Pair>({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open(client) {
          const pair: Pair = { client, toUpstream: [], toClient: [], commitSent: false };
          client.data = pair;
          void Bun.connect<undefined>({
            hostname: upstreamHost,
            port: upstreamPort,
            socket: {
              open(upstream) {
                pair.upstream = upstream;
                flush(upstream, pair.toUpstream);
              },
              drain(upstream) {
                flush(upstream, pair.toUpstream);
              },
              data(_upstream, chunk) {
                proxy?.fromServer(pair, Buffer.from(chunk));
              },
              close() {
                pair.client.end();
              },
              error() {
                pair.client.end();
              },
            },
          }).catch(() => client.end());
        },
        data(client, chunk) {
          proxy?.fromClient(client.data, Buffer.from(chunk));
        },
        drain(client) {
          flush(client, client.data.toClient);
        },
        close(client) {
          client.data?.upstream?.end();
        },
      },
    });
    proxy = new CutProxy(listener);
    return proxy;
  }

  get port(): number {
    return this.#listener.port;
  }

  /** Drops the answer of the next COMMIT that goes through. */
  arm(): void {
    this.#armed = true;
  }

  /** While on, every byte in either direction vanishes; no connection is closed. */
  blackHole(on: boolean): void {
    this.#blackHole = on;
  }

  fromClient(pair: Pair, chunk: Buffer): void {
    if (this.#blackHole) return;
    if (this.#armed && chunk.includes(commitText)) {
      this.#armed = false;
      pair.commitSent = true;
    }
    pair.toUpstream.push(chunk);
    flush(pair.upstream, pair.toUpstream);
  }

  fromServer(pair: Pair, chunk: Buffer): void {
    if (this.#blackHole) return;
    if (pair.commitSent && chunk.includes(commitText)) {
      // The server answered the COMMIT: it committed. The client never learns it. (end, not
      // terminate: the client's socket must see the connection close.)
      pair.commitSent = false;
      this.cuts += 1;
      pair.client.end();
      pair.upstream?.end();
      return;
    }
    pair.toClient.push(chunk);
    flush(pair.client, pair.toClient);
  }

  stop(): void {
    this.#listener.stop(true);
  }
}
