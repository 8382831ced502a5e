import { describe, expect, test } from "bun:test";

describe("unhandled rejections", () => {
  test("unhandled rejections - are logged as one JSON line and the process goes on", async () => {
    const module = new URL("./unhandledRejections.ts", import.meta.url).pathname;
    const logModule = new URL("./log.ts", import.meta.url).pathname;
    const script = `
      const { reportUnhandledRejections } = await import(${JSON.stringify(module)});
      const { JsonLogger } = await import(${JSON.stringify(logModule)});
      reportUnhandledRejections(new JsonLogger("guard-test"));
      Promise.reject(new Error("stray rejection (test)"));
      setTimeout(() => console.log("still running"), 50);
    `;
    const child = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
      child.exited,
    ]);
    expect(code).toBe(0);
    expect(stdout).toContain("still running");
    const line = JSON.parse(stderr.trim().split("\n")[0] as string);
    expect(line).toMatchObject({
      level: "error",
      node: "guard-test",
      event: "unhandled rejection",
      error: "stray rejection (test)",
    });
  });
});
