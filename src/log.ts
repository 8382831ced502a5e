/**
 * The node's log: one JSON object per line (`ts`, `level`, `node`, `event`, then the event's own
 * fields), so a log shipper needs no multi-line parsing and every line says which node wrote it.
 * An error becomes `error` (its message), `errorName`, `cause` (the chain of causes' messages)
 * and `stack`, all inside the one line.
 *
 * Each event (per table, step and role, see `windowKeyFields`) is limited to
 * `linesPerWindowMax` lines per `windowMs`: when something fails for every request (a full disk,
 * a database gone) the node reports it without writing megabytes a second. When a window ends
 * with lines left out, one more line says how many (`suppressed`). Events are fixed strings of
 * the code, never client input, so the map of windows stays small (and is bounded anyway).
 */

export type LogLevel = "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields, error?: unknown): void;
  error(event: string, error: unknown, fields?: LogFields): void;
}

export interface LogLimits {
  linesPerWindowMax: number;
  windowMs: number;
}

export const defaultLogLimits: LogLimits = { linesPerWindowMax: 10, windowMs: 10_000 };

/** Distinct events tracked at most; past it the oldest window is forgotten. */
const trackedEventsMax = 1_000;

/** Causes followed at most when describing an error (a cycle would never end). */
const causeDepthMax = 5;

/**
 * Fields that tell one source of an event from another: each combination has its own window, so
 * a burst from one table cannot hide another table's failure. Player ids are not among them: a
 * failure every player meets (a full disk) must stay a few lines, not a few per player.
 */
const windowKeyFields = ["table", "step", "role"] as const;

interface EventWindow {
  level: LogLevel;
  event: string;
  keyFields: LogFields;
  startedAtMs: number;
  lines: number;
  suppressed: number;
}

export class JsonLogger implements Logger {
  readonly #windows = new Map<string, EventWindow>();
  readonly #flushTimer: ReturnType<typeof setInterval> | undefined;

  /**
   * `flushEveryMs`: how often windows that ended with lines suppressed report their count, even
   * if their event never comes again (0: only when the event comes again, or on `flush`).
   */
  constructor(
    private readonly node: string,
    private readonly write: (level: LogLevel, line: string) => void = writeToConsole,
    private readonly limits: LogLimits = defaultLogLimits,
    private readonly nowMs: () => number = Date.now,
    flushEveryMs = limits.windowMs,
  ) {
    if (flushEveryMs > 0) this.#flushTimer = setInterval(() => this.flush(), flushEveryMs).unref();
  }

  /** Reports what is still suppressed and stops the flush timer. */
  close(): void {
    clearInterval(this.#flushTimer);
    for (const window of this.#windows.values()) this.#reportSuppressed(window, this.nowMs());
    this.#windows.clear();
  }

  info(event: string, fields?: LogFields): void {
    this.#log("info", event, fields, undefined);
  }

  warn(event: string, fields?: LogFields, error?: unknown): void {
    this.#log("warn", event, fields, error);
  }

  error(event: string, error: unknown, fields?: LogFields): void {
    this.#log("error", event, fields, error);
  }

  /** Reports the count of every window that has ended with lines suppressed, and forgets it. */
  flush(): void {
    const nowMs = this.nowMs();
    for (const [key, window] of this.#windows) {
      if (nowMs - window.startedAtMs < this.limits.windowMs) continue;
      this.#windows.delete(key);
      this.#reportSuppressed(window, nowMs);
    }
  }

  #log(level: LogLevel, event: string, fields: LogFields | undefined, error: unknown): void {
    const nowMs = this.nowMs();
    if (!this.#admit(level, event, fields, nowMs)) return;
    const line: LogFields = { ts: new Date(nowMs).toISOString(), level, node: this.node, event };
    if (fields !== undefined) Object.assign(line, fields);
    if (error !== undefined) Object.assign(line, describeError(error));
    this.write(level, safeStringify(line));
  }

  /** Whether this line may be written; counts it as suppressed when not. */
  #admit(level: LogLevel, event: string, fields: LogFields | undefined, nowMs: number): boolean {
    const keyFields: LogFields = {};
    let key = event;
    for (const name of windowKeyFields) {
      const value = fields?.[name];
      if (value === undefined) continue;
      keyFields[name] = value;
      key += `\u0000${name}=${String(value)}`;
    }
    let window = this.#windows.get(key);
    if (window !== undefined && nowMs - window.startedAtMs >= this.limits.windowMs) {
      this.#windows.delete(key);
      this.#reportSuppressed(window, nowMs);
      window = undefined;
    }
    if (window === undefined) {
      if (this.#windows.size >= trackedEventsMax) {
        const [oldestKey, oldest] = this.#windows.entries().next().value as [string, EventWindow];
        this.#windows.delete(oldestKey);
        this.#reportSuppressed(oldest, nowMs);
      }
      this.#windows.set(key, {
        level,
        event,
        keyFields,
        startedAtMs: nowMs,
        lines: 1,
        suppressed: 0,
      });
      return true;
    }
    if (window.lines >= this.limits.linesPerWindowMax) {
      window.suppressed += 1;
      return false;
    }
    window.lines += 1;
    return true;
  }

  #reportSuppressed(window: EventWindow, nowMs: number): void {
    if (window.suppressed === 0) return;
    const line: LogFields = {
      ts: new Date(nowMs).toISOString(),
      level: window.level,
      node: this.node,
      event: window.event,
      ...window.keyFields,
      suppressed: window.suppressed,
      windowMs: this.limits.windowMs,
    };
    this.write(window.level, safeStringify(line));
  }
}

function writeToConsole(level: LogLevel, line: string): void {
  if (level === "info") console.log(line);
  else console.error(line);
}

function describeError(error: unknown): LogFields {
  if (!(error instanceof Error)) return { error: String(error) };
  const described: LogFields = { error: error.message, errorName: error.name };
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") described.errorCode = code;
  const causes: string[] = [];
  let cause = error.cause;
  while (cause !== undefined && causes.length < causeDepthMax) {
    causes.push(cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause));
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  if (causes.length > 0) described.cause = causes.join(" <- ");
  const stackOf = (error.cause instanceof Error ? error.cause : error).stack;
  if (stackOf !== undefined) described.stack = stackOf;
  return described;
}

/** Fields are the code's own values, but a BigInt or a cycle must not cost the line. */
function safeStringify(line: LogFields): string {
  try {
    return JSON.stringify(line, (_key, value: unknown) =>
      typeof value === "bigint" ? value.toString() : value,
    );
  } catch {
    return JSON.stringify({ ts: line.ts, level: line.level, node: line.node, event: line.event });
  }
}
