import { expect, test } from "bun:test";
import { playerActorKind } from "../actors/player.ts";
import { ActorSystem } from "../actors/system.ts";
import { tableActorKind } from "../actors/table.ts";
import { CroupierError } from "../errors.ts";
import { LocalActorRouter } from "./router.ts";

/** Actors that never answer within the deadline. */
function slowSystem(): { system: ActorSystem; release(): void } {
  const system = new ActorSystem();
  const gate = Promise.withResolvers<void>();
  const behaviour = () => ({
    async receive() {
      await gate.promise;
      return { type: "done" };
    },
  });
  system.register(playerActorKind, behaviour);
  system.register(tableActorKind, behaviour);
  return { system, release: () => gate.resolve() };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(CroupierError);
  return (error as CroupierError).code;
}

test("router - no answer in time: a player's command is INTERNAL (outcome unknown), a table's BUSY", async () => {
  const { system, release } = slowSystem();
  const router = new LocalActorRouter(system, 20);
  expect(await codeOf(router.askPlayer("p1", { type: "state" }))).toBe("INTERNAL");
  expect(await codeOf(router.askTable("t1", { type: "summary" }))).toBe("BUSY");
  expect(router.activeTables(["t1", "t2"])).toEqual(["t1"]);
  expect(router.tellTable("t2", { type: "summary" })).toBe(true);
  expect(router.activeTables(["t1", "t2"])).toEqual(["t1", "t2"]);
  release();
  await system.stop(1_000);
});
