/**
 * Child process of the writer-lock test: opens the embedded ledger in DATA dir argv[2], commits
 * one deposit, prints "open" and keeps the ledger open until its stdin ends (so it never outlives
 * the test), then closes it. The test SIGKILLs it to show that a dead writer leaves no lock.
 */
import { depositWrite } from "../../ledgerContract.ts";
import { openEmbeddedLedger } from "../embeddedLedger.ts";
import { testLedgerOptions } from "./tempLedger.ts";

const dataDir = process.argv[2];
if (dataDir === undefined) {
  console.error("usage: ledgerHolder.ts <dataDir>");
  process.exit(2);
}

const ledger = await openEmbeddedLedger({ ...testLedgerOptions, dataDir });
const outcome = await ledger.write(depositWrite("p1", 1, "d1", 100));
if (outcome.status !== "committed") throw new Error(`deposit: ${outcome.status}`);
console.log("open");
// Bounded by the parent: it kills this process or closes the pipe.
for await (const _ of Bun.stdin.stream()) {
  // Nothing is read from the parent; the loop only waits for the end of the pipe.
}
await ledger.close();
