import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Config } from "../config/defaults.ts";
import { loadConfig } from "../config/load.ts";
import { CroupierClient } from "../src/client/client.ts";
import { type NodeParts, type RunningNode, startNode } from "../src/node.ts";
import type { Ledger, WalletWrite, WriteOutcome } from "../src/store/ledger.ts";
import { ledgerWithMethod } from "../src/testing/ledgerWithMethod.ts";

/** Limits raised so tests exercise behaviour, not the default rate limits (tests of limits set their own). */
export const generousLimits: Partial<Config> = {
  commandsPerSecond: 100_000,
  commandBurst: 100_000,
  upgradesPerSecondPerIp: 100_000,
  upgradeBurstPerIp: 100_000,
  sessionsPerSecondPerIp: 100_000,
  sessionBurstPerIp: 100_000,
  readsPerSecondPerIp: 100_000,
  readBurstPerIp: 100_000,
  // Every test client connects from loopback.
  socketsPerAddressMax: 1_000_000,
};

export interface TestNode extends RunningNode {
  dataDir: string;
  config: Config;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A real node on port 0 with its own ledger directory; dispose stops it and removes the data. */
export async function startTestNode(
  overrides: Partial<Config> = {},
  env: Record<string, string> = {},
  parts: NodeParts = {},
): Promise<TestNode> {
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), "croupier-test-"));
  const config = loadConfig(env, {
    ...generousLimits,
    port: 0,
    host: "127.0.0.1",
    dataDir,
    ...overrides,
  });
  const node = await startNode(config, parts);
  return {
    ...node,
    dataDir,
    config,
    async [Symbol.asyncDispose]() {
      await node.stop();
      if (overrides.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A real ledger whose writes of chosen command ids wait until the test releases them: the state
 * of a commit that is slow (a stalled disk, a failover) without a fake store.
 */
export function holdWrites(ledger: Ledger): {
  ledger: Ledger;
  hold(commandId: string): void;
  /** Resolves once the held write has reached the ledger and waits there. */
  reached(commandId: string): Promise<void>;
  release(commandId: string): void;
} {
  const gates = new Map<
    string,
    { open: PromiseWithResolvers<void>; reached: PromiseWithResolvers<void> }
  >();
  const write = async (write: WalletWrite): Promise<WriteOutcome> => {
    const gate = gates.get(write.commandId);
    if (gate !== undefined) {
      gate.reached.resolve();
      await gate.open.promise;
    }
    return ledger.write(write);
  };
  return {
    ledger: ledgerWithMethod(ledger, "write", write),
    hold: (commandId) =>
      gates.set(commandId, { open: Promise.withResolvers(), reached: Promise.withResolvers() }),
    reached: (commandId) => gates.get(commandId)?.reached.promise ?? Promise.resolve(),
    release: (commandId) => gates.get(commandId)?.open.resolve(),
  };
}

/**
 * A real ledger whose seat writes wait, while held, until released: a table join then holds the
 * table's turn (and its mailbox fills behind it) without a fake store.
 */
export function holdSeats(ledger: Ledger): {
  ledger: Ledger;
  hold(): void;
  /** Resolves once a held seat write has reached the ledger and waits there. */
  reached(): Promise<void>;
  release(): void;
} {
  let gate: { open: PromiseWithResolvers<void>; reached: PromiseWithResolvers<void> } | undefined;
  const setTableSeat = async (table: string, playerId: string, seated: boolean) => {
    const held = gate;
    if (held !== undefined) {
      held.reached.resolve();
      await held.open.promise;
    }
    return ledger.setTableSeat(table, playerId, seated);
  };
  return {
    ledger: ledgerWithMethod(ledger, "setTableSeat", setTableSeat),
    hold: () => {
      gate = { open: Promise.withResolvers(), reached: Promise.withResolvers() };
    },
    reached: () => gate?.reached.promise ?? Promise.resolve(),
    release: () => {
      gate?.open.resolve();
      gate = undefined;
    },
  };
}

export async function http(
  node: { httpUrl: string },
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string } = {},
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] = "application/json";
  }
  const response = await fetch(`${node.httpUrl}${path}`, { method, headers, body });
  const text = await response.text();
  return { status: response.status, body: text === "" ? undefined : JSON.parse(text) };
}

/**
 * A WebSocket upgrade request for `/v1/ws` + `query`, answered as a plain HTTP response: how a
 * test sees the status of an upgrade the node refuses (a client WebSocket only sees a close).
 */
export function upgradeRequest(
  node: { httpUrl: string },
  query: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${node.httpUrl}/v1/ws${query}`, {
    headers: {
      upgrade: "websocket",
      connection: "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
      ...headers,
    },
  });
}

let playerCounter = 0;

export function uniquePlayerId(prefix = "p"): string {
  playerCounter += 1;
  return `${prefix}-${process.pid}-${playerCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Opens a session for a new player (dev mode unless an operator key is given). */
export async function newSession(
  node: { httpUrl: string },
  playerId = uniquePlayerId(),
  operatorKey?: string,
): Promise<{ token: string; playerId: string }> {
  const response = await http(node, "POST", "/v1/sessions", {
    body: { playerId },
    token: operatorKey,
  });
  if (response.status !== 201)
    throw new Error(`session: ${response.status} ${JSON.stringify(response.body)}`);
  return { token: response.body.token, playerId };
}

export async function connectClient(
  node: { wsUrl: string },
  token: string,
  options: Partial<ConstructorParameters<typeof CroupierClient>[0]> = {},
): Promise<CroupierClient> {
  const client = new CroupierClient({ baseUrl: node.wsUrl, token, ...options });
  await client.connect();
  return client;
}

export async function balanceOf(node: { httpUrl: string }, token: string): Promise<number> {
  const response = await http(node, "GET", "/v1/wallet", { token });
  if (response.status !== 200) throw new Error(`wallet: ${response.status}`);
  return response.body.balance;
}

/** A plain WebSocket that records every frame, for tests that need exact control over what is sent. */
export class RecordingSocket {
  readonly messages: any[] = [];
  closeCode: number | undefined;
  closeReason = "";
  private readonly socket: WebSocket;
  private readonly closed = Promise.withResolvers<number>();

  private constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.onmessage = (event) => this.messages.push(JSON.parse(String(event.data)));
    this.socket.onclose = (event) => {
      this.closeCode = event.code;
      this.closeReason = event.reason;
      this.closed.resolve(event.code);
    };
  }

  static async open(node: { wsUrl: string }, token: string, query = ""): Promise<RecordingSocket> {
    const socket = new RecordingSocket(`${node.wsUrl}/v1/ws?token=${token}${query}`);
    await socket.waitFor((m) => m.type === "welcome", 5_000);
    return socket;
  }

  send(frame: unknown): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Resolves with the first recorded message matching, waiting up to `timeoutMs`. */
  async waitFor(match: (message: any) => boolean, timeoutMs = 5_000): Promise<any> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.messages.find(match);
      if (found !== undefined) return found;
      if (this.closeCode !== undefined)
        throw new Error(`socket closed (${this.closeCode} ${this.closeReason}) while waiting`);
      if (performance.now() > deadline)
        throw new Error(`no matching message within ${timeoutMs} ms`);
      await Bun.sleep(2);
    }
  }

  async waitForCount(
    match: (message: any) => boolean,
    count: number,
    timeoutMs = 5_000,
  ): Promise<any[]> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.messages.filter(match);
      if (found.length >= count) return found;
      if (performance.now() > deadline)
        throw new Error(`only ${found.length} of ${count} messages within ${timeoutMs} ms`);
      await Bun.sleep(2);
    }
  }

  /** Resolves with the close code, failing after `timeoutMs`. */
  async waitForClose(timeoutMs = 5_000): Promise<number> {
    const timer = setTimeout(
      () => this.closed.reject(new Error(`not closed within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      return await this.closed.promise;
    } finally {
      clearTimeout(timer);
    }
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  close(): void {
    this.socket.close();
  }
}
