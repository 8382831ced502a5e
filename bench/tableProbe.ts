/**
 * A node like `src/main.ts`, with timing probes on the table's path, for `bench/table.ts` when
 * BENCH_TABLE_PROBE=1 (a diagnostic: it changes nothing in src/, it wraps methods of the running
 * node's objects). It prints one `probe {...}` line per table step to stdout:
 * - each ledger step of a round (close, settle): when it was called and how long until it resolved;
 * - each table broadcast: when `publish` was called, how long the call took, and when the event
 *   loop next ran a timer after it (the socket writes of a publish happen after the call returns);
 * - event-loop stalls over 4 ms (a 1 ms interval that fired late), with their start time.
 * Times are epoch milliseconds with fractions (performance.timeOrigin + performance.now()).
 * BENCH_TABLE_COALESCE=1 and BENCH_TABLE_DEFER_SETTLEMENT=1 emulate two proposed changes (below).
 */
import { loadConfig } from "../config/load.ts";
import { startNode } from "../src/node.ts";

const now = () => performance.timeOrigin + performance.now();
const out = (record: Record<string, unknown>) => console.log(`probe ${JSON.stringify(record)}`);

const config = loadConfig(process.env);
const node = await startNode(config);
console.log(
  `croupier: node ${config.nodeId} listening on ${node.httpUrl} (${node.describe}; probes on)`,
);

const { ledger, tableFanout } = node.context;
for (const step of ["closeTableRound", "settleTableRound"] as const) {
  const original = ledger[step].bind(ledger) as (...args: unknown[]) => Promise<unknown>;
  (ledger as unknown as Record<string, unknown>)[step] = async (...args: unknown[]) => {
    const calledAt = now();
    try {
      return await original(...args);
    } finally {
      out({ step, roundId: args[0], calledAt, tookMs: now() - calledAt });
    }
  };
}
/**
 * BENCH_TABLE_DEFER_SETTLEMENT=1 emulates another change to src/actors/table.ts: the payouts of a
 * round start one timer tick after the result is published (the settlement's first step, reading
 * the round's bets, waits for a setTimeout 0), so the result's socket writes go out before a
 * thousand settlements run on the same thread.
 */
if (process.env.BENCH_TABLE_DEFER_SETTLEMENT === "1") {
  const original = ledger.tableRoundBets.bind(ledger);
  ledger.tableRoundBets = async (roundId: string) => {
    await new Promise((resolve) => setTimeout(resolve, 0));
    return original(roundId);
  };
}
const publish = tableFanout.publish.bind(tableFanout);
/**
 * BENCH_TABLE_COALESCE=1 emulates a change to src/actors/table.ts: `table.round.closed` is held
 * back and published together with the round's result, in the same turn, after the durable
 * settle (or after 200 ms, if no result comes), so the sockets are written once per round end
 * instead of twice a few milliseconds apart.
 */
const coalesce = process.env.BENCH_TABLE_COALESCE === "1";
let held: { table: string; text: string; roundId: string; timer: Timer } | undefined;
const flushHeld = () => {
  if (held === undefined) return;
  clearTimeout(held.timer);
  const { table, text } = held;
  held = undefined;
  probedPublish(table, text);
};
const probedPublish = (table: string, text: string) => {
  const calledAt = now();
  publish(table, text);
  const callMs = now() - calledAt;
  const type = /"type":"([^"]+)"/.exec(text)?.[1];
  const roundId = /"roundId":"([^"]+)"/.exec(text)?.[1];
  setTimeout(() => {
    out({ step: "publish", type, roundId, calledAt, callMs, nextTimerAfterMs: now() - calledAt });
  }, 0);
};
tableFanout.publish = (table: string, text: string) => {
  if (!coalesce) return probedPublish(table, text);
  const roundId = /"roundId":"([^"]+)"/.exec(text)?.[1] ?? "";
  if (text.startsWith('{"type":"table.round.closed"')) {
    flushHeld();
    held = { table, text, roundId, timer: setTimeout(flushHeld, 200) };
    return;
  }
  if (held !== undefined && held.roundId === roundId) flushHeld();
  probedPublish(table, text);
};

let last = now();
setInterval(() => {
  const at = now();
  if (at - last > 5) out({ step: "stall", from: last, ms: at - last - 1 });
  last = at;
}, 1);

let stopping = false;
process.on("SIGTERM", () => {
  if (stopping) return;
  stopping = true;
  void node.stop().then(() => process.exit(0));
});
