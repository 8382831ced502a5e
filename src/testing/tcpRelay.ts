/**
 * A TCP relay for tests: every connection to it is passed through to `target`, until the test
 * silences the ones it picks. A silenced connection stays open and carries nothing either way,
 * which is what a half-open connection or a NAT that forgot the flow looks like to both ends:
 * no FIN, no RST, no bytes.
 */
import { createConnection, createServer, type Socket } from "node:net";

interface RelayedConnection {
  client: Socket;
  upstream: Socket;
  /** Everything the client has sent so far, as Latin-1 (to pick connections by their traffic). */
  sent: string;
  silenced: boolean;
}

/** Client bytes kept per connection for `silence`'s predicate. */
const sentKeptMax = 4_096;

export class TcpRelay {
  private readonly connections = new Set<RelayedConnection>();

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly port: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpRelay> {
    let relay: TcpRelay | undefined;
    const server = createServer((client) => {
      const upstream = createConnection(targetPort, targetHost);
      const connection: RelayedConnection = { client, upstream, sent: "", silenced: false };
      relay?.connections.add(connection);
      client.on("data", (data: Buffer) => {
        if (connection.sent.length < sentKeptMax)
          connection.sent += data.toString("latin1").slice(0, sentKeptMax);
        if (!connection.silenced) upstream.write(data);
      });
      upstream.on("data", (data: Buffer) => {
        if (!connection.silenced) client.write(data);
      });
      const drop = () => {
        client.destroy();
        upstream.destroy();
        relay?.connections.delete(connection);
      };
      client.on("close", drop);
      upstream.on("close", drop);
      client.on("error", drop);
      upstream.on("error", drop);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("relay has no port");
    relay = new TcpRelay(server, address.port);
    return relay;
  }

  /** Silences the open connections whose client traffic so far matches; returns how many. */
  silence(matches: (sent: string) => boolean): number {
    let silenced = 0;
    for (const connection of this.connections) {
      if (matches(connection.sent)) {
        connection.silenced = true;
        silenced += 1;
      }
    }
    return silenced;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const connection of this.connections) {
      connection.client.destroy();
      connection.upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
