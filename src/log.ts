/**
 * The node's log: one JSON object per line (`ts`, `level`, `node`, `event`, then the event's own
 * fields), so a log shipper needs no multi-line parsing and every line says which node wrote it.
 * An error becomes `error` (its message), `errorName`, `cause` (the chain of causes' messages)
 * and `stack`, all inside the one line.
 *
 * Each event is limited to `linesPerWindowMax` lines per `windowMs`: when something fails for
 * every request (a full disk, a database gone) the node reports it without writing megabytes a
 * second. The next line of that event after a quiet window carries `suppressed`, the count of
 * the lines left out. Events are fixed strings of the code, never client input, so the map of
 * windows stays as small as the list of events (and is bounded anyway).
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

interface EventWindow {
  startedAtMs: number;
  lines: number;
  suppressed: number;
}

export class JsonLogger implements Logger {
  readonly #windows = new Map<string, EventWindow>();

  constructor(
    private readonly node: string,
    private readonly write: (level: LogLevel, line: string) => void = writeToConsole,
    private readonly limits: LogLimits = defaultLogLimits,
    private readonly nowMs: () => number = Date.now,
  ) {}

  info(event: string, fields?: LogFields): void {
    this.#log("info", event, fields, undefined);
  }

  warn(event: string, fields?: LogFields, error?: unknown): void {
    this.#log("warn", event, fields, error);
  }

  error(event: string, error: unknown, fields?: LogFields): void {
    this.#log("error", event, fields, error);
  }

  #log(level: LogLevel, event: string, fields: LogFields | undefined, error: unknown): void {
    const nowMs = this.nowMs();
    const suppressed = this.#admit(event, nowMs);
    if (suppressed === undefined) return;
    const line: LogFields = { ts: new Date(nowMs).toISOString(), level, node: this.node, event };
    if (fields !== undefined) Object.assign(line, fields);
    if (error !== undefined) Object.assign(line, describeError(error));
    if (suppressed > 0) line.suppressed = suppressed;
    this.write(level, safeStringify(line));
  }

  /** The count suppressed before this line when it may be written, else undefined. */
  #admit(event: string, nowMs: number): number | undefined {
    let window = this.#windows.get(event);
    if (window === undefined || nowMs - window.startedAtMs >= this.limits.windowMs) {
      const suppressed = window?.suppressed ?? 0;
      if (window !== undefined) this.#windows.delete(event);
      else if (this.#windows.size >= trackedEventsMax) {
        const oldest = this.#windows.keys().next().value;
        if (oldest !== undefined) this.#windows.delete(oldest);
      }
      window = { startedAtMs: nowMs, lines: 0, suppressed: 0 };
      this.#windows.set(event, window);
      window.lines = 1;
      return suppressed;
    }
    if (window.lines >= this.limits.linesPerWindowMax) {
      window.suppressed += 1;
      return undefined;
    }
    window.lines += 1;
    return 0;
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
