/**
 * WebSocket load driver shared by the Croupier run and the echo baseline, so both are measured
 * with the same client code on the same machine in the same run.
 */
export interface DriverSocket {
  socket: WebSocket;
  inFlight: Map<string, number>;
}

export interface RunResult {
  completed: number;
  errors: number;
  errorCodes: Record<string, number>;
  elapsedMs: number;
  latenciesMs: number[];
  /** Characters of the answers counted, to compare what each side sends back. */
  replyChars: number;
}

export function emptyResult(): RunResult {
  return { completed: 0, errors: 0, errorCodes: {}, elapsedMs: 0, latenciesMs: [], replyChars: 0 };
}

function countReply(
  result: RunResult,
  message: { type: string; code?: string },
  chars: number,
): void {
  result.replyChars += chars;
  if (message.type !== "error") {
    result.completed += 1;
    return;
  }
  result.errors += 1;
  const code = message.code ?? "?";
  result.errorCodes[code] = (result.errorCodes[code] ?? 0) + 1;
}

/** Opens sockets and waits until each is usable (after the welcome, when `awaitWelcome`). */
export async function openSockets(
  urls: string[],
  awaitWelcome: boolean,
  timeoutMs = 30_000,
): Promise<WebSocket[]> {
  const open = (url: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocket(url);
      const timer = setTimeout(() => reject(new Error(`connect timeout ${url}`)), timeoutMs);
      if (awaitWelcome) {
        socket.onmessage = () => {
          clearTimeout(timer);
          socket.onmessage = null;
          resolve(socket);
        };
      } else {
        socket.onopen = () => {
          clearTimeout(timer);
          resolve(socket);
        };
      }
      socket.onerror = () => reject(new Error(`connect failed ${url}`));
    });
  const sockets: WebSocket[] = [];
  // Connect in modest batches: a real fleet does not open thousands of sockets in one tick.
  for (let i = 0; i < urls.length; i += 200)
    sockets.push(...(await Promise.all(urls.slice(i, i + 200).map(open))));
  return sockets;
}

/** Builds the frame for a socket's n-th command; returns [command id, frame text]. Ids are unique per run. */
export type FrameFor = (socketIndex: number, sequence: number) => [string, string];

function attach(
  sockets: WebSocket[],
  onReply: (
    socketIndex: number,
    message: { id: string; type: string; code?: string },
    chars: number,
  ) => void,
): void {
  sockets.forEach((socket, index) => {
    socket.onmessage = (event) => {
      const text = String(event.data);
      const message = JSON.parse(text);
      if (typeof message.id === "string") onReply(index, message, text.length);
    };
  });
}

/** Closed loop: each socket keeps one command in flight for `durationMs`. */
export async function closedLoop(
  sockets: WebSocket[],
  frameFor: FrameFor,
  durationMs: number,
): Promise<RunResult> {
  const result = emptyResult();
  const sentAt = new Float64Array(sockets.length);
  const sequence = new Uint32Array(sockets.length);
  const awaitedIds: string[] = new Array(sockets.length).fill("");
  const startedAt = performance.now();
  const endAt = startedAt + durationMs;
  const done = Promise.withResolvers<void>();
  let active = sockets.length;
  const send = (index: number) => {
    sequence[index] = (sequence[index] as number) + 1;
    sentAt[index] = performance.now();
    const [id, frame] = frameFor(index, sequence[index] as number);
    awaitedIds[index] = id;
    (sockets[index] as WebSocket).send(frame);
  };
  attach(sockets, (index, message, chars) => {
    if (message.id !== awaitedIds[index]) return; // not the answer this socket waits for
    const now = performance.now();
    result.latenciesMs.push(now - (sentAt[index] as number));
    countReply(result, message, chars);
    if (now < endAt) send(index);
    else if (--active === 0) done.resolve();
  });
  for (let i = 0; i < sockets.length; i++) send(i);
  const guard = setTimeout(() => done.resolve(), durationMs + unansweredAfterMs);
  await done.promise;
  clearTimeout(guard);
  result.elapsedMs = performance.now() - startedAt;
  countUnanswered(result, active); // sockets whose last command never got its answer
  return result;
}

/** How long past the run a command may still be answered before it counts as unanswered. */
const unansweredAfterMs = 30_000;

/** Commands that never got an answer are errors too (a lost reply, a closed socket). */
function countUnanswered(result: RunResult, unanswered: number): void {
  if (unanswered === 0) return;
  result.errors += unanswered;
  result.errorCodes.UNANSWERED = (result.errorCodes.UNANSWERED ?? 0) + unanswered;
}

/**
 * Open loop: commands are sent on a fixed schedule (`ratePerSecond` across all sockets),
 * whether or not earlier ones were answered; latency is measured from the scheduled time,
 * so a stall shows up in the figures instead of quietly slowing the load (no coordinated omission).
 */
export async function openLoop(
  sockets: WebSocket[],
  frameFor: FrameFor,
  ratePerSecond: number,
  durationMs: number,
): Promise<RunResult> {
  const result = emptyResult();
  const scheduled = new Map<string, number>();
  const total = Math.floor((ratePerSecond * durationMs) / 1000);
  const intervalMs = 1000 / ratePerSecond;
  const done = Promise.withResolvers<void>();
  let answered = 0;
  attach(sockets, (_index, message, chars) => {
    const at = scheduled.get(message.id);
    if (at === undefined) return;
    scheduled.delete(message.id);
    result.latenciesMs.push(performance.now() - at);
    countReply(result, message, chars);
    if (++answered === total) done.resolve();
  });
  const startedAt = performance.now();
  const sequence = new Uint32Array(sockets.length);
  let sent = 0;
  const tick = () => {
    const due = Math.min(total, Math.floor((performance.now() - startedAt) / intervalMs) + 1);
    while (sent < due) {
      const index = sent % sockets.length;
      sequence[index] = (sequence[index] as number) + 1;
      const [id, frame] = frameFor(index, sequence[index] as number);
      scheduled.set(id, startedAt + sent * intervalMs);
      (sockets[index] as WebSocket).send(frame);
      sent += 1;
    }
    if (sent < total) setTimeout(tick, 1);
  };
  tick();
  const guard = setTimeout(() => done.resolve(), durationMs + unansweredAfterMs);
  await done.promise;
  clearTimeout(guard);
  result.elapsedMs = performance.now() - startedAt;
  // Left out of the latencies (they have none), so they must show as errors.
  countUnanswered(result, total - answered);
  return result;
}

/**
 * A frame factory per phase: each call gives the frames of one phase, spins whose ids
 * (`<prefix><socket>-<phase>-<n>`) are unique per socket and per phase, so no phase replays
 * another's stored replies.
 */
export function spinPhases(idPrefix: string, bet: number): () => FrameFor {
  let phase = 0;
  return () => {
    phase += 1;
    const current = phase;
    return (i, n) => {
      const id = `${idPrefix}${i}-${current}-${n}`;
      return [id, `{"type":"spin","id":"${id}","game":"slot","bet":${bet}}`];
    };
  };
}

/** Sessions created at once at most, so a large fleet does not open thousands of requests. */
const sessionBatchMax = 200;

/**
 * Creates a dev-mode session for each of `count` players (`<playerPrefix><i>`) on the node at
 * `httpUrl` and returns the WebSocket URL of each, in player order.
 */
export async function devSocketUrls(
  httpUrl: string,
  count: number,
  playerPrefix: string,
): Promise<string[]> {
  const urls: string[] = [];
  const wsUrl = httpUrl.replace("http", "ws");
  for (let i = 0; i < count; i += sessionBatchMax) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(sessionBatchMax, count - i) }, async (_, j) => {
        const response = await fetch(`${httpUrl}/v1/sessions`, {
          method: "POST",
          body: JSON.stringify({ playerId: `${playerPrefix}${i + j}` }),
        });
        if (!response.ok)
          throw new Error(`POST /v1/sessions: ${response.status} ${await response.text()}`);
        const { token } = (await response.json()) as { token: string };
        return `${wsUrl}/v1/ws?token=${token}`;
      }),
    );
    urls.push(...batch);
  }
  return urls;
}

/** Starts a bench server script (echoServer.ts, broadcastServer.ts) and reads the URL it prints. */
export async function startBenchServer(
  script: string,
): Promise<{ process: Bun.Subprocess<"ignore", "pipe", "inherit">; url: string }> {
  const child = Bun.spawn([process.execPath, new URL(script, import.meta.url).pathname], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  const url = /listening on (\S+)/.exec(new TextDecoder().decode(value))?.[1];
  if (url === undefined) {
    child.kill();
    throw new Error(`${script} did not start`);
  }
  return { process: child, url };
}
