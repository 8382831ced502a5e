import type { Logger } from "./log.ts";

/**
 * Bun ends the process on a promise rejection nobody handles. In a node that would turn one
 * stray rejection (a library's, e.g. postgres.js on a connection killed while it opens during a
 * database failover) into every player's sockets dropped at once. Money does not depend on the
 * process staying up or going down (every answer follows its commit, and an actor in doubt
 * reloads from the ledger), so the node reports the rejection, a bug to fix, and goes on.
 * Synchronous uncaught exceptions still end the process.
 */
export function reportUnhandledRejections(log: Logger): void {
  process.on("unhandledRejection", (reason) => {
    log.error("unhandled rejection", reason);
  });
}
