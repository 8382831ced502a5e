/**
 * `npm run bench:table` (`bun bench/table.ts`): fan-out of a live roulette table to many sockets.
 *
 * A real node runs as its own process (embedded ledger in a temporary DATA_DIR, dev mode, one
 * table); N WebSocket clients in this process join the table, a fraction of them bet in every
 * round, the rest watch. Per round it reports:
 * - result fan-out: each client's arrival time of `table.round.result` minus the event's
 *   `decidedAt` (the time the number was drawn, before the durable settle), and the spread
 *   (last arrival minus first, measured with this process's monotonic clock);
 * - settlement: each bettor's arrival time of its `table.payout` minus `decidedAt`; the max is
 *   the time until every bet of the round was settled and announced;
 * - bets accepted, refused (BETTING_CLOSED, BUSY) and other errors.
 * Both processes read the same system clock; `decidedAt` is an ISO 8601 time with whole
 * milliseconds and the arrival is Date.now(), so each latency sample is within +-1 ms.
 *
 * Baseline, same machine, same run, same client code: a bare Bun server (bench/broadcastServer.ts)
 * with the same N clients subscribed to one topic, publishing an event of the same shape with
 * `server.publish` and `decidedAt` stamped just before the publish.
 *
 * Exits non-zero when a client got an unexpected error or close, a round was voided, a result or
 * payout is missing, or the audit that runs after the node stops fails.
 *
 * Options (environment): BENCH_TABLE_CLIENTS (2000), BENCH_TABLE_BETTORS (fraction of clients
 * that bet, 0.5; "50%" also works), BENCH_TABLE_ROUNDS (5), BENCH_TABLE_BETTING_MS (3000),
 * BENCH_TABLE_DISPLAY_MS (1000), BENCH_TABLE_BET_SPREAD (bets are spread over this fraction of
 * the betting window, 0.5), BENCH_DATABASE_URL (run the node on this Postgres database instead;
 * "auto": a fresh database from DATABASE_TEST_URL or a throwaway server, as bench/run.ts does).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runAuditCli } from "../src/testing/auditRun.ts";
import { spawnNode } from "../src/testing/nodeProcess.ts";
import { createTestDatabase } from "../src/testing/postgresTestDb.ts";
import { devSocketUrls, openSockets, startBenchServer } from "./driver.ts";
import { type LatencySummary, summarize } from "./stats.ts";

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = raw.endsWith("%") ? Number(raw.slice(0, -1)) / 100 : Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name}=${raw} is not a number >= 0`);
  return value;
}

const clients = Math.floor(envNumber("BENCH_TABLE_CLIENTS", 2_000));
const bettorFraction = Math.min(1, envNumber("BENCH_TABLE_BETTORS", 0.5));
const rounds = Math.max(1, Math.floor(envNumber("BENCH_TABLE_ROUNDS", 5)));
const bettingMs = Math.floor(envNumber("BENCH_TABLE_BETTING_MS", 3_000));
const displayMs = Math.floor(envNumber("BENCH_TABLE_DISPLAY_MS", 1_000));
const betSpread = Math.min(1, envNumber("BENCH_TABLE_BET_SPREAD", 0.5));
/** A Postgres URL, or "auto": a fresh database from DATABASE_TEST_URL or a throwaway server. */
const databaseOption = process.env.BENCH_DATABASE_URL || undefined;
const tableId = "bench-roulette";
const minBet = 100;
const maxBet = 100_000;
/** Refusals that mean "the server was too slow or too busy", not a broken protocol. */
const refusalCodes = new Set(["BETTING_CLOSED", "BUSY"]);

/** One round (or one baseline event) as the clients saw it. */
interface RoundData {
  index: number;
  roundId: string;
  /** Date.now() at each client's receipt of the result; NaN until it arrives. */
  resultAt: Float64Array;
  /** performance.now() at the same moment, for the spread. */
  resultHr: Float64Array;
  results: number;
  resultText?: string;
  /** Results whose text differs from the first client's (the event is published once). */
  mismatched: number;
  decidedAtMs?: number;
  /** performance.now() at each client's receipt of `table.round.closed`, published just before the result. */
  closedHr: Float64Array;
  betsSent: number;
  accepted: number;
  acceptedBy: Uint8Array;
  refused: Record<string, number>;
  errors: Record<string, number>;
  payoutAt: Float64Array;
  payouts: number;
  /** Payouts to a client without an accepted bet in the round, or a second one. */
  strayPayouts: number;
}

function newRound(index: number, roundId: string): RoundData {
  return {
    index,
    roundId,
    resultAt: new Float64Array(clients).fill(Number.NaN),
    resultHr: new Float64Array(clients).fill(Number.NaN),
    closedHr: new Float64Array(clients).fill(Number.NaN),
    results: 0,
    mismatched: 0,
    betsSent: 0,
    accepted: 0,
    acceptedBy: new Uint8Array(clients),
    refused: {},
    errors: {},
    payoutAt: new Float64Array(clients).fill(Number.NaN),
    payouts: 0,
    strayPayouts: 0,
  };
}

function roundIdIn(data: string): string {
  const start = data.indexOf('"roundId":"');
  if (start < 0) return "";
  return data.slice(start + 11, data.indexOf('"', start + 11));
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/** Problems that fail the run, whatever the figures. */
const problems: string[] = [];

/**
 * The load generator: N sockets, one message handler each, doing as little as possible per
 * message (a substring test, a timestamp, a typed-array store); JSON is parsed once per round and
 * for rare frames only.
 */
class Clients {
  readonly rounds: RoundData[] = [];
  readonly byId = new Map<string, RoundData>();
  /** Baseline mode: a result nobody announced creates its round on first arrival. */
  createOnResult = false;
  /** Rounds are recorded (and bet in) from the first `table.round.closed` after this is set. */
  armed = false;
  measuring = false;
  stopping = false;
  joined = 0;
  voided = 0;
  refunds = 0;
  unexpectedCloses: Record<string, number> = {};
  otherErrors: Record<string, number> = {};
  private readonly bettor: Uint8Array;

  constructor(
    readonly sockets: WebSocket[],
    bettorShare: number,
    private readonly roundsMax: number,
  ) {
    this.bettor = new Uint8Array(sockets.length);
    // Bettors spread evenly over the sockets (and so over the connection order).
    for (let i = 0; i < sockets.length; i++)
      this.bettor[i] = Math.floor((i + 1) * bettorShare) > Math.floor(i * bettorShare) ? 1 : 0;
    sockets.forEach((socket, i) => {
      socket.onmessage = (event) => this.onMessage(i, event.data as string);
      socket.onclose = (event) => {
        if (!this.stopping) bump(this.unexpectedCloses, String(event.code));
      };
    });
  }

  get bettors(): number {
    return this.bettor.reduce((sum, b) => sum + b, 0);
  }

  private onMessage(i: number, data: string): void {
    const at = Date.now();
    const hr = performance.now();
    if (data.includes('"table.round.result"')) this.onResult(i, data, at, hr);
    else if (data.includes('"table.payout"')) this.onPayout(i, data, at);
    else if (data.includes('"table.round.open"')) this.onOpen(i, data);
    else if (data.includes('"table.bet.accepted"')) this.onAccepted(i, data);
    else if (data.includes('"table.round.closed"')) this.onClosed(i, data, hr);
    else if (data.startsWith('{"type":"error"')) this.onError(data);
    else if (data.includes('"table.joined"')) this.joined += 1;
    else if (data.includes('"table.round.voided"')) {
      this.voided += 1;
      problems.push(`round voided: ${data}`);
    } else if (data.startsWith('{"type":"balance"')) {
      // A refund: only a voided round produces one here.
      this.refunds += 1;
    }
  }

  private onResult(i: number, data: string, at: number, hr: number): void {
    const roundId = roundIdIn(data);
    let round = this.byId.get(roundId);
    if (round === undefined) {
      if (!this.createOnResult || this.rounds.length >= this.roundsMax) return;
      round = this.addRound(roundId);
    }
    if (!Number.isNaN(round.resultAt[i] as number)) {
      problems.push(`client ${i} got the result of round ${round.index} twice`);
      return;
    }
    round.resultAt[i] = at;
    round.resultHr[i] = hr;
    round.results += 1;
    if (round.resultText === undefined) {
      round.resultText = data;
      round.decidedAtMs = Date.parse((JSON.parse(data) as { decidedAt: string }).decidedAt);
    } else if (data !== round.resultText) {
      round.mismatched += 1;
    }
  }

  private onPayout(i: number, data: string, at: number): void {
    const round = this.byId.get(roundIdIn(data));
    if (round === undefined) return;
    if (round.acceptedBy[i] !== 1 || !Number.isNaN(round.payoutAt[i] as number)) {
      round.strayPayouts += 1;
      return;
    }
    round.payoutAt[i] = at;
    round.payouts += 1;
  }

  private onClosed(i: number, data: string, hr: number): void {
    if (this.armed && !this.measuring) {
      // From the next open on every client knows it is measuring: no round half-bet.
      this.measuring = true;
      return;
    }
    const round = this.byId.get(roundIdIn(data));
    if (round !== undefined) round.closedHr[i] = hr;
  }

  private onOpen(i: number, data: string): void {
    if (!this.measuring) return;
    const roundId = roundIdIn(data);
    let round = this.byId.get(roundId);
    if (round === undefined) {
      if (this.rounds.length >= this.roundsMax) return;
      round = this.addRound(roundId);
    }
    if (this.bettor[i] !== 1) return;
    const socket = this.sockets[i] as WebSocket;
    const id = `r${round.index}-${i}`;
    const frame = `{"type":"table.bet","id":"${id}","table":"${tableId}","bet":${randomBet()},"amount":${minBet},"roundId":"${roundId}"}`;
    const target = round;
    setTimeout(
      () => {
        target.betsSent += 1;
        socket.send(frame);
      },
      Math.random() * bettingMs * betSpread,
    );
  }

  private onAccepted(i: number, data: string): void {
    const round = this.byId.get(roundIdIn(data));
    if (round === undefined) {
      bump(this.otherErrors, "accepted for an unknown round");
      return;
    }
    round.accepted += 1;
    round.acceptedBy[i] = 1;
  }

  private onError(data: string): void {
    const message = JSON.parse(data) as { id: string | null; code: string; message: string };
    const index = /^r(\d+)-/.exec(message.id ?? "")?.[1];
    const round = index === undefined ? undefined : this.rounds[Number(index)];
    if (round === undefined) {
      bump(this.otherErrors, message.code);
      problems.push(`error ${message.code} (${message.id}): ${message.message}`);
      return;
    }
    if (refusalCodes.has(message.code)) bump(round.refused, message.code);
    else {
      bump(round.errors, message.code);
      problems.push(`bet ${message.id} refused with ${message.code}: ${message.message}`);
    }
  }

  private addRound(roundId: string): RoundData {
    const round = newRound(this.rounds.length, roundId);
    this.rounds.push(round);
    this.byId.set(roundId, round);
    return round;
  }

  /** Every client has the result, every bet is answered and every accepted bet is paid. */
  complete(round: RoundData, expectBets: boolean): boolean {
    if (round.results < this.sockets.length) return false;
    if (!expectBets) return true;
    const answered =
      round.accepted +
      Object.values(round.refused).reduce((a, b) => a + b, 0) +
      Object.values(round.errors).reduce((a, b) => a + b, 0);
    return answered >= this.bettors && round.payouts >= round.accepted;
  }

  close(): void {
    this.stopping = true;
    for (const socket of this.sockets) socket.close();
  }
}

const straightOrSide = ["red", "black", "even", "odd", "low", "high"];
function randomBet(): string {
  const pick = Math.floor(Math.random() * 9);
  if (pick === 0) return `{"kind":"straight","number":${Math.floor(Math.random() * 37)}}`;
  if (pick === 7 || pick === 8) {
    const kind = pick === 7 ? "dozen" : "column";
    return `{"kind":"${kind}","n":${1 + Math.floor(Math.random() * 3)}}`;
  }
  return `{"kind":"${straightOrSide[pick - 1]}"}`;
}

async function waitUntil(done: () => boolean, timeoutMs: number, pollMs = 20): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await Bun.sleep(pollMs);
  }
  return true;
}

/** The figures of one round or event. */
interface RoundFigures {
  fanout: LatencySummary;
  fanoutSamples: number[];
  spreadMs: number;
  /** First arrival minus decidedAt: what happens before the first copy leaves (the settle, and whatever holds the loop). */
  firstMs: number;
  /** The `table.round.closed` broadcast just before: its spread (last - first arrival), the gap
   * from its last arrival to the first result, and per client closed -> result. NaN in the baseline. */
  closedSpreadMs: number;
  closedLastToResultFirstMs: number;
  closedToResult: LatencySummary;
  settle: LatencySummary;
  settleSamples: number[];
}

function figuresOf(round: RoundData): RoundFigures {
  const decided = round.decidedAtMs ?? Number.NaN;
  const fanoutSamples: number[] = [];
  let firstHr = Number.POSITIVE_INFINITY;
  let lastHr = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < round.resultAt.length; i++) {
    const at = round.resultAt[i] as number;
    if (Number.isNaN(at)) continue;
    fanoutSamples.push(at - decided);
    const hr = round.resultHr[i] as number;
    if (hr < firstHr) firstHr = hr;
    if (hr > lastHr) lastHr = hr;
  }
  let firstClosed = Number.POSITIVE_INFINITY;
  let lastClosed = Number.NEGATIVE_INFINITY;
  const closedToResult: number[] = [];
  for (let i = 0; i < round.closedHr.length; i++) {
    const hr = round.closedHr[i] as number;
    if (Number.isNaN(hr)) continue;
    if (hr < firstClosed) firstClosed = hr;
    if (hr > lastClosed) lastClosed = hr;
    const result = round.resultHr[i] as number;
    if (!Number.isNaN(result)) closedToResult.push(result - hr);
  }
  const settleSamples: number[] = [];
  for (const at of round.payoutAt) if (!Number.isNaN(at)) settleSamples.push(at - decided);
  const fanout = summarize(fanoutSamples);
  return {
    fanout,
    fanoutSamples,
    spreadMs: lastHr - firstHr,
    firstMs: Math.min(...fanoutSamples),
    closedSpreadMs: lastClosed - firstClosed,
    closedLastToResultFirstMs: firstHr - lastClosed,
    closedToResult: summarize(closedToResult),
    settle: summarize(settleSamples),
    settleSamples,
  };
}

const ms = (value: number, digits = 0) =>
  Number.isFinite(value) ? `${value.toFixed(digits)} ms` : "-";
const triple = (s: LatencySummary, digits = 0) =>
  `p50 ${ms(s.p50Ms, digits)}, p99 ${ms(s.p99Ms, digits)}, max ${ms(s.maxMs, digits)} (n=${s.count})`;
const counts = (c: Record<string, number>) =>
  Object.keys(c).length === 0 ? "0" : JSON.stringify(c);

interface PhaseSummary {
  fanout: LatencySummary;
  spreads: number[];
  settle?: LatencySummary;
}

function cpuTicks(pid: number): number {
  // /proc/<pid>/stat: fields 14 and 15 (utime, stime) in clock ticks, after the "(comm)" field.
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}
const ticksPerSecond = 100;

function fdLimit(): number {
  const out = Bun.spawnSync(["sh", "-c", "ulimit -n"]).stdout.toString().trim();
  return out === "unlimited" ? Number.POSITIVE_INFINITY : Number(out);
}

async function baseline(events: number): Promise<PhaseSummary> {
  const { process: child, url } = await startBenchServer("./broadcastServer.ts");
  try {
    const httpUrl = url.replace("ws", "http");
    const sockets = await openSockets(
      Array.from({ length: clients }, () => url),
      true,
      60_000,
    );
    // One extra event first, not counted: warm-up of the server's and the clients' paths.
    const warm = new Clients(sockets, 0, 1);
    warm.createOnResult = true;
    await fetch(`${httpUrl}/publish`);
    if (
      !(await waitUntil(
        () => warm.rounds[0] !== undefined && warm.complete(warm.rounds[0], false),
        10_000,
      ))
    )
      problems.push("baseline: the warm-up event did not reach every client");
    const group = new Clients(sockets, 0, events);
    group.createOnResult = true;
    for (let n = 0; n < events; n++) {
      await fetch(`${httpUrl}/publish`);
      const ok = await waitUntil(() => {
        const round = group.rounds[n];
        return round !== undefined && group.complete(round, false);
      }, 10_000);
      if (!ok) problems.push(`baseline: event ${n + 1} did not reach every client`);
      await Bun.sleep(200);
    }
    const figures = group.rounds.map(figuresOf);
    figures.forEach((f, n) => {
      console.log(
        `  event ${n + 1}: arrival - decidedAt ${triple(f.fanout)}; spread ${ms(f.spreadMs, 2)}`,
      );
    });
    const all = summarize(figures.flatMap((f) => f.fanoutSamples));
    const spreads = figures.map((f) => f.spreadMs);
    console.log(
      `  all ${events} events: ${triple(all)}; spread median ${ms(median(spreads), 2)}, max ${ms(Math.max(...spreads), 2)}`,
    );
    if (Object.keys(group.unexpectedCloses).length > 0)
      problems.push(`baseline: unexpected closes ${counts(group.unexpectedCloses)}`);
    group.close();
    return { fanout: all, spreads };
  } finally {
    child.kill();
    await child.exited;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
}

async function tableRun(databaseUrl: string | undefined): Promise<PhaseSummary> {
  const dataDir = mkdtempSync(join(tmpdir(), "croupier-bench-table-"));
  const tables = [
    {
      id: tableId,
      game: "roulette",
      minBet,
      maxBet,
      bettingWindowMs: bettingMs,
      resultDisplayMs: displayMs,
    },
  ];
  const nodeEnv = {
    ...(databaseUrl === undefined ? {} : { DATABASE_URL: databaseUrl }),
    DATA_DIR: dataDir,
    OPERATOR_KEY: undefined, // dev mode: sessions without an operator key
    DEV_STARTING_BALANCE: String(1_000_000_000_000),
    TABLES: JSON.stringify(tables),
  };
  const node = await spawnNode(nodeEnv);
  console.log(`node: ${node.banner}`);
  let summary: PhaseSummary = { fanout: summarize([]), spreads: [] };
  try {
    const setupStart = performance.now();
    const sockets = await openSockets(
      await devSocketUrls(node.httpUrl, clients, "table-bench-"),
      true,
      60_000,
    );
    const group = new Clients(sockets, bettorFraction, rounds);
    for (let i = 0; i < clients; i += 200) {
      const end = Math.min(clients, i + 200);
      for (let j = i; j < end; j++)
        (sockets[j] as WebSocket).send(`{"type":"table.join","id":"join","table":"${tableId}"}`);
      if (!(await waitUntil(() => group.joined >= end, 30_000)))
        throw new Error(`only ${group.joined} of ${end} clients joined`);
    }
    console.log(
      `setup: ${clients} sessions, sockets and joins in ${((performance.now() - setupStart) / 1000).toFixed(1)} s; ` +
        `${group.bettors} bettors, ${clients - group.bettors} watchers`,
    );
    group.armed = true;
    const cycleMs = bettingMs + displayMs;
    const cpuStart = { node: cpuTicks(node.process.pid), bench: process.cpuUsage() };
    const wallStart = performance.now();
    const finished = await waitUntil(
      () =>
        group.rounds.length === rounds &&
        group.rounds.every((round) => group.complete(round, true)),
      (rounds + 2) * cycleMs + 30_000,
      50,
    );
    const wallMs = performance.now() - wallStart;
    const benchCpu = process.cpuUsage(cpuStart.bench);
    const nodeCpuMs = ((cpuTicks(node.process.pid) - cpuStart.node) / ticksPerSecond) * 1000;
    if (!finished) problems.push(`the ${rounds} rounds did not all complete in time`);

    const figures = group.rounds.map(figuresOf);
    for (const [n, round] of group.rounds.entries()) {
      const f = figures[n] as RoundFigures;
      console.log(
        `  round ${n + 1} (${round.roundId}): result fan-out ${triple(f.fanout)}; spread ${ms(f.spreadMs, 2)}; ` +
          `first ${ms(f.firstMs)}`,
      );
      console.log(
        `      table.round.closed just before: spread ${ms(f.closedSpreadMs, 2)}, last closed -> first result ${ms(f.closedLastToResultFirstMs, 2)}, ` +
          `per client closed -> result ${triple(f.closedToResult, 1)}`,
      );
      console.log(
        `      settlement (payout - decidedAt) ${triple(f.settle)}; bets sent ${round.betsSent}, ` +
          `accepted ${round.accepted}, refused ${counts(round.refused)}, errors ${counts(round.errors)}`,
      );
      if (round.results < clients)
        problems.push(`round ${n + 1}: ${clients - round.results} clients missed the result`);
      if (round.payouts < round.accepted)
        problems.push(`round ${n + 1}: ${round.accepted - round.payouts} accepted bets not paid`);
      if (round.mismatched > 0)
        problems.push(`round ${n + 1}: ${round.mismatched} clients got a different result frame`);
      if (round.strayPayouts > 0)
        problems.push(`round ${n + 1}: ${round.strayPayouts} unexpected payouts`);
    }
    const fanout = summarize(figures.flatMap((f) => f.fanoutSamples));
    const settle = summarize(figures.flatMap((f) => f.settleSamples));
    const spreads = figures.map((f) => f.spreadMs);
    const sum = (pick: (r: RoundData) => number) =>
      group.rounds.reduce((total, r) => total + pick(r), 0);
    const refused = sum((r) => Object.values(r.refused).reduce((a, b) => a + b, 0));
    const errors = sum((r) => Object.values(r.errors).reduce((a, b) => a + b, 0));
    console.log(`  all ${group.rounds.length} rounds: result fan-out ${triple(fanout)}`);
    console.log(
      `      spread median ${ms(median(spreads), 2)}, max ${ms(Math.max(...spreads), 2)}; settlement ${triple(settle)}`,
    );
    console.log(
      `      bets: ${sum((r) => r.betsSent)} sent, ${sum((r) => r.accepted)} accepted, ${refused} refused, ${errors} errors; ` +
        `voided rounds ${group.voided}; other errors ${counts(group.otherErrors)}; unexpected closes ${counts(group.unexpectedCloses)}`,
    );
    console.log(
      `      CPU over the ${(wallMs / 1000).toFixed(1)} s of rounds: node ${((nodeCpuMs / wallMs) * 100).toFixed(0)}% of a core, ` +
        `bench clients ${(((benchCpu.user + benchCpu.system) / 1000 / wallMs) * 100).toFixed(0)}% of a core`,
    );
    if (group.voided > 0 || group.refunds > 0)
      problems.push(`${group.voided} voided rounds, ${group.refunds} refunds`);
    if (Object.keys(group.unexpectedCloses).length > 0)
      problems.push(`unexpected closes ${counts(group.unexpectedCloses)}`);
    group.close();
    summary = { fanout, spreads, settle };
  } finally {
    node.process.kill("SIGTERM");
    const exitCode = await node.process.exited;
    if (exitCode !== 0) {
      problems.push(`node exited with ${exitCode}`);
      console.log(`node stderr: ${await node.stderrTail()}`);
    }
  }
  const audit = runAuditCli({ dataDir, ...(databaseUrl === undefined ? {} : { databaseUrl }) });
  console.log(`audit (exit ${audit.exit}):\n${audit.report}`);
  if (audit.exit !== 0) problems.push(`audit exit ${audit.exit}`);
  rmSync(dataDir, { recursive: true, force: true });
  return summary;
}

const limit = fdLimit();
console.log(
  `bench:table: ${clients} clients (${(bettorFraction * 100).toFixed(0)}% bettors), ${rounds} rounds, ` +
    `betting window ${bettingMs} ms (bets over the first ${(betSpread * 100).toFixed(0)}%), result display ${displayMs} ms, ` +
    `ledger ${databaseOption === undefined ? "embedded" : "postgres"}; ${navigator.hardwareConcurrency} cores, bun ${Bun.version}, ulimit -n ${limit}`,
);
if (limit < clients + 256) {
  console.log(
    `warning: ulimit -n ${limit} is below ${clients + 256}: this process and the node each hold one descriptor per socket; raise it (ulimit -n ${clients * 2 + 1024}) or lower BENCH_TABLE_CLIENTS`,
  );
}
console.log(
  "latencies are Date.now() at arrival minus the event's ISO decidedAt: whole ms, +-1 ms",
);
console.log(`\n-- baseline: bare Bun server.publish to ${clients} subscribers --`);
const base = await baseline(rounds);
console.log(`\n-- croupier table, ${clients} clients --`);
let table: PhaseSummary;
if (databaseOption === "auto") {
  const availability = await createTestDatabase();
  if (availability.database === undefined) {
    console.log(`no Postgres for BENCH_DATABASE_URL=auto: ${availability.skipReason}`);
    process.exit(1);
  }
  const { database } = availability;
  console.log(`postgres ledger: fresh database ${database.name}`);
  try {
    table = await tableRun(database.url);
  } finally {
    await database.drop();
  }
} else {
  table = await tableRun(databaseOption);
}
console.log("\n-- summary --");
const row = (label: string, s: LatencySummary, spreads: number[]) =>
  console.log(
    `${label.padEnd(34)} p50 ${ms(s.p50Ms).padStart(8)}  p99 ${ms(s.p99Ms).padStart(8)}  max ${ms(s.maxMs).padStart(8)}  spread median ${ms(median(spreads), 2).padStart(9)}`,
  );
row("baseline server.publish", base.fanout, base.spreads);
row("table result fan-out", table.fanout, table.spreads);
if (table.settle !== undefined) row("table settlement (all payouts)", table.settle, []);
console.log(
  `ratio table / baseline: p50 ${(table.fanout.p50Ms / base.fanout.p50Ms).toFixed(1)}x, p99 ${(table.fanout.p99Ms / base.fanout.p99Ms).toFixed(1)}x, ` +
    `spread ${(median(table.spreads) / median(base.spreads)).toFixed(1)}x`,
);
console.log(
  `target result fan-out p99 < 50 ms for ${clients} clients: ${table.fanout.p99Ms < 50 ? "met" : "MISSED"} (${ms(table.fanout.p99Ms)})`,
);
if (problems.length > 0) {
  console.log(`\n${problems.length} problems:`);
  for (const problem of problems.slice(0, 50)) console.log(`  ${problem}`);
  process.exitCode = 1;
}
