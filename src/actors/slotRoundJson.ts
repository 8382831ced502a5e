/**
 * The two JSON texts of a slot round, written by hand: a spin's reply and its round detail are
 * built on every spin, and assembling them from pieces costs a fraction of `JSON.stringify` on
 * the objects (measured in bench/RESULTS.md). The output is exactly what `JSON.stringify` gives
 * for the same objects in the same key order; slotRoundJson.test.ts checks that on every shape.
 */
import type { LineWin, SlotOutcome } from "../games/slot/play.ts";

/** JSON string literals of the few symbol names, computed once each. */
const quoted = new Map<string, string>();

function quote(text: string): string {
  let literal = quoted.get(text);
  if (literal === undefined) {
    literal = JSON.stringify(text);
    if (quoted.size < 256) quoted.set(text, literal);
  }
  return literal;
}

/** Whole numbers print the same in JSON as in a template; anything else goes through JSON. */
function number(value: number): string {
  return Number.isSafeInteger(value) ? `${value}` : JSON.stringify(value);
}

function numbers(values: readonly number[]): string {
  let text = "[";
  for (let i = 0; i < values.length; i++)
    text += (i === 0 ? "" : ",") + number(values[i] as number);
  return `${text}]`;
}

function windowJson(window: readonly (readonly string[])[]): string {
  let text = "[";
  for (let r = 0; r < window.length; r++) {
    const row = window[r] as readonly string[];
    text += r === 0 ? "[" : ",[";
    for (let c = 0; c < row.length; c++) text += (c === 0 ? "" : ",") + quote(row[c] as string);
    text += "]";
  }
  return `${text}]`;
}

function linesJson(lines: readonly LineWin[]): string {
  let text = "[";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as LineWin;
    text += `${i === 0 ? "" : ","}{"line":${number(line.line)},"symbol":${quote(line.symbol)},"count":${number(line.count)},"win":${number(line.win)}}`;
  }
  return `${text}]`;
}

export interface SpinResultFields {
  commandId: string;
  seq: number;
  roundId: string;
  bet: number;
  balance: number;
  outcome: SlotOutcome;
}

/** `JSON.stringify({type: "spin.result", id, seq, roundId, bet, win, balance, outcome: {...}})`. */
export function spinResultJson(fields: SpinResultFields): string {
  const { outcome } = fields;
  return (
    `{"type":"spin.result","id":${JSON.stringify(fields.commandId)},"seq":${number(fields.seq)}` +
    `,"roundId":${JSON.stringify(fields.roundId)},"bet":${number(fields.bet)},"win":${number(outcome.win)}` +
    `,"balance":${number(fields.balance)},"outcome":{"stops":${numbers(outcome.stops)}` +
    `,"window":${windowJson(outcome.window)},"lines":${linesJson(outcome.lines)}` +
    `,"scatter":{"count":${number(outcome.scatter.count)},"win":${number(outcome.scatter.win)}}}}`
  );
}

export interface RoundDetailFields {
  roundId: string;
  game: string;
  playerId: string;
  commandId: string;
  bet: number;
  outcome: SlotOutcome;
  seq: number;
  balanceAfter: number;
  atMs: number;
}

/**
 * `JSON.stringify({roundId, game, playerId, id, bet, win, stops, paytableVersion,
 * settlement: {seq, balanceAfter, atMs}})`.
 */
export function roundDetailJson(fields: RoundDetailFields): string {
  const { outcome } = fields;
  return (
    `{"roundId":${JSON.stringify(fields.roundId)},"game":${quote(fields.game)}` +
    `,"playerId":${JSON.stringify(fields.playerId)},"id":${JSON.stringify(fields.commandId)}` +
    `,"bet":${number(fields.bet)},"win":${number(outcome.win)},"stops":${numbers(outcome.stops)}` +
    `,"paytableVersion":${quote(outcome.paytableVersion)},"settlement":{"seq":${number(fields.seq)}` +
    `,"balanceAfter":${number(fields.balanceAfter)},"atMs":${number(fields.atMs)}}}`
  );
}
