import { type Socket, connect as tcpConnect } from "node:net";

function maskedTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length > 65_535) throw new Error("frame too long for this helper");
  const header =
    payload.length < 126
      ? Buffer.from([0x81, 0x80 | payload.length])
      : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const mask = Buffer.from([1, 2, 3, 4]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] as number)));
  return Buffer.concat([header, mask, masked]);
}

/**
 * A WebSocket client on raw TCP, for what a browser client cannot do: never answer pings,
 * or stop reading. Frames from the server are parsed only as far as needed to find the close.
 */
export class RawWebSocket {
  private buffer = Buffer.alloc(0);
  private upgraded = false;
  private readonly upgradedLatch = Promise.withResolvers<void>();
  private readonly closeLatch = Promise.withResolvers<number>();
  textFrames = 0;
  /** The text frames' contents, kept only when asked for (a flood test receives thousands). */
  texts: string[] | undefined;
  /** Ping frames the server sent; `onServerPing` runs on each (it never answers with a pong). */
  serverPings = 0;
  onServerPing: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (error) => {
      this.upgradedLatch.reject(error);
      this.closeLatch.reject(error);
    });
    socket.on("close", () => this.closeLatch.reject(new Error("TCP closed without a close frame")));
    // Read through closeCode(); a socket destroyed by its test without waiting is no failure.
    this.closeLatch.promise.catch(() => {});
  }

  static async open(
    port: number,
    path: string,
    headers: Record<string, string> = {},
  ): Promise<RawWebSocket> {
    const socket = tcpConnect(port, "127.0.0.1");
    const client = new RawWebSocket(socket);
    socket.on("connect", () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
          Object.entries(headers)
            .map(([name, value]) => `${name}: ${value}\r\n`)
            .join("") +
          "\r\n",
      );
    });
    await client.upgradedLatch.promise;
    return client;
  }

  /** A masked text frame, as a client must send. */
  sendText(text: string): boolean {
    return this.socket.write(maskedTextFrame(text));
  }

  /** Several text frames in one TCP write, so the server reads them together. */
  sendTexts(texts: readonly string[]): boolean {
    return this.socket.write(Buffer.concat(texts.map(maskedTextFrame)));
  }

  /** A masked, empty ping frame of the client's own. */
  sendPing(): boolean {
    return this.socket.write(Buffer.from([0x89, 0x80, 1, 2, 3, 4]));
  }

  /** Stops reading from the socket: the server's frames pile up in the kernel, then in the server. */
  pauseReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Resolves with the code of the server's close frame. */
  closeCode(timeoutMs: number): Promise<number> {
    const timer = setTimeout(
      () => this.closeLatch.reject(new Error(`no close frame within ${timeoutMs} ms`)),
      timeoutMs,
    );
    return this.closeLatch.promise.finally(() => clearTimeout(timer));
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    if (!this.upgraded) {
      const end = this.buffer.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = this.buffer.subarray(0, end).toString();
      if (!head.startsWith("HTTP/1.1 101")) {
        this.upgradedLatch.reject(new Error(`upgrade refused: ${head.split("\r\n")[0]}`));
        return;
      }
      this.upgraded = true;
      this.buffer = this.buffer.subarray(end + 4);
      this.upgradedLatch.resolve();
    }
    for (;;) {
      if (this.buffer.length < 2) return;
      const opcode = (this.buffer[0] as number) & 0x0f;
      let length = (this.buffer[1] as number) & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) return;
      if (opcode === 0x8) {
        this.closeLatch.resolve(length >= 2 ? this.buffer.readUInt16BE(offset) : 1005);
        this.socket.destroy();
        return;
      }
      if (opcode === 0x1) {
        this.textFrames += 1;
        this.texts?.push(this.buffer.subarray(offset, offset + length).toString());
      }
      if (opcode === 0x9) {
        this.serverPings += 1;
        this.onServerPing?.();
      }
      this.buffer = this.buffer.subarray(offset + length);
    }
  }
}
