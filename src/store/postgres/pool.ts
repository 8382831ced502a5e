import postgres, { type Sql } from "postgres";
import { CroupierError } from "../../errors.ts";

/**
 * A fixed pool of Postgres connections with a bounded wait, built from single-connection
 * postgres.js clients.
 *
 * - postgres.js's own pool queues waiters without bound or timeout; here a caller waits at most
 *   `acquireTimeoutMs` (and at most `waitersMax` callers wait), then gets BUSY having sent nothing.
 * - A single-connection client lets the ledger send its own BEGIN/COMMIT and pipeline the
 *   statements of a transaction (postgres.js allows a manual BEGIN only there or on a reserved
 *   connection, whose waiting requests it cannot withdraw).
 * - Each client lives for ONE server session. postgres.js would reconnect on the next query and
 *   run the statements still queued on the new session, outside the transaction they belonged
 *   to (and its reconnect after a reset connection can spin until the connect timeout). So when
 *   a session ends, the client is ended at once (its queued statements fail) and replaced by a
 *   fresh one before anyone gets it again. A transaction that sees its client `lost` knows its
 *   statements did not all run in one session.
 *
 * Whoever holds a connection must leave it outside any transaction (COMMIT or ROLLBACK).
 */

export interface PoolSettings {
  url: string;
  size: number;
  connectTimeoutMs: number;
  acquireTimeoutMs: number;
  waitersMax: number;
  /**
   * Bound on one use of a connection. The server bounds each statement (statement_timeout), but
   * a network that silently drops packets leaves the client waiting for TCP to notice, minutes.
   * Past this bound the connection is cut: its statements fail and the holder learns the
   * outcome is unknown.
   */
  useMsMax: number;
  /** Session parameters sent at connection start (search_path, statement_timeout, ...). */
  parameters: Record<string, string>;
}

export type Connection = Sql;

/** Errors of waiting for a connection: load, not a database fault. */
const waitRefusals = new WeakSet<Error>();

/** True for the BUSY of a caller that got no connection in time (or found too many waiting). */
export function isPoolWaitRefusal(error: unknown): boolean {
  return error instanceof Error && waitRefusals.has(error);
}

function waitRefusal(message: string): CroupierError {
  const error = new CroupierError("BUSY", message);
  waitRefusals.add(error);
  return error;
}

interface Waiter {
  resolve(connection: Connection): void;
  reject(error: CroupierError): void;
  timer: ReturnType<typeof setTimeout>;
}

export class ConnectionPool {
  readonly #settings: PoolSettings;
  /** Every live client, held or idle; always `size` of them. */
  readonly #all = new Set<Connection>();
  readonly #idle: Connection[] = [];
  /** Clients whose session ended; replaced when next handed out or given back. */
  readonly #lost = new WeakSet<Connection>();
  /** FIFO; bounded by `waitersMax`. */
  readonly #waiters: Waiter[] = [];
  #ended = false;

  constructor(settings: PoolSettings) {
    this.#settings = settings;
    for (let index = 0; index < settings.size; index++) this.#idle.push(this.#newClient());
  }

  #newClient(): Connection {
    const { url, connectTimeoutMs, parameters } = this.#settings;
    const client: Connection = postgres(url, {
      max: 1,
      connect_timeout: connectTimeoutMs / 1_000,
      // Never closed by postgres.js on a timer (it would close one between two statements of a
      // transaction); a session ends only when the server or the network ends it.
      idle_timeout: 0,
      max_lifetime: null,
      onnotice: () => {},
      onclose: () => {
        this.#lost.add(client);
        // Fails whatever is still queued on it instead of running it on a new session.
        void client.end({ timeout: 0 });
      },
      connection: { application_name: "croupier", ...parameters },
    });
    this.#all.add(client);
    return client;
  }

  /** A fresh client in place of a lost one. */
  #usable(client: Connection): Connection {
    if (!this.#lost.has(client) || this.#ended) return client;
    this.#all.delete(client);
    return this.#newClient();
  }

  /** True once the client's session ended: statements sent on it after that did not run in it. */
  lost(connection: Connection): boolean {
    return this.#lost.has(connection);
  }

  get size(): number {
    return this.#settings.size;
  }

  /** Connections not held by anyone right now. */
  get idleCount(): number {
    return this.#idle.length;
  }

  /** A connection for the caller alone; BUSY when none frees up in time or too many wait. */
  acquire(): Promise<Connection> {
    if (this.#ended) return Promise.reject(new CroupierError("BUSY", "ledger pool is closed"));
    const idle = this.#idle.pop();
    if (idle !== undefined) return Promise.resolve(this.#usable(idle));
    const { acquireTimeoutMs, waitersMax, size } = this.#settings;
    if (this.#waiters.length >= waitersMax) {
      return Promise.reject(
        waitRefusal(`all ${size} ledger connections busy and ${waitersMax} waiting`),
      );
    }
    const { promise, resolve, reject } = Promise.withResolvers<Connection>();
    const waiter: Waiter = {
      resolve,
      reject,
      timer: setTimeout(() => {
        const index = this.#waiters.indexOf(waiter);
        if (index >= 0) this.#waiters.splice(index, 1);
        reject(
          waitRefusal(`no ledger connection free within ${acquireTimeoutMs} ms (pool of ${size})`),
        );
      }, acquireTimeoutMs),
    };
    this.#waiters.push(waiter);
    return promise;
  }

  release(connection: Connection): void {
    if (!this.#all.has(connection))
      throw new Error("released a connection this pool does not hold");
    const client = this.#usable(connection);
    const waiter = this.#waiters.shift();
    if (waiter === undefined) {
      this.#idle.push(client);
      return;
    }
    clearTimeout(waiter.timer);
    waiter.resolve(client);
  }

  /**
   * Runs `body` on a connection of its own and gives the connection back whatever happens. A
   * `body` still running after `useMsMax` (unless `unbounded`, for the audit) loses its
   * connection.
   */
  async use<T>(body: (connection: Connection) => Promise<T>, unbounded = false): Promise<T> {
    const connection = await this.acquire();
    const timer = unbounded
      ? undefined
      : setTimeout(() => this.#cut(connection), this.#settings.useMsMax);
    try {
      return await body(connection);
    } finally {
      clearTimeout(timer);
      this.release(connection);
    }
  }

  #cut(connection: Connection): void {
    this.#lost.add(connection);
    void connection.end({ timeout: 0 });
  }

  /** Closes every connection; statements still running get `timeoutMs` before they are cut off. */
  async end(timeoutMs: number): Promise<void> {
    this.#ended = true;
    for (const waiter of this.#waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new CroupierError("BUSY", "ledger pool closed while waiting"));
    }
    await Promise.all([...this.#all].map((client) => client.end({ timeout: timeoutMs / 1_000 })));
  }
}
