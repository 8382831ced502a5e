/**
 * Cleanup that runs when this process ends, however it ends. `bun test` emits neither "exit" nor
 * "beforeExit", and a killed process runs no handler at all, so the cleanup is a small `sh`
 * child instead: it reads its stdin until end of file, which comes when the write end, held only
 * by this process, closes at its exit. Then it runs the script.
 *
 * `script` is a shell script; `args` become its positional parameters ($1, $2, ...), so paths and
 * commands need no quoting.
 */
export function runAtProcessExit(script: string, args: string[] = []): void {
  const watchdog = Bun.spawn(
    ["sh", "-c", `cat >/dev/null 2>&1\n${script}`, "croupier-exit-watchdog", ...args],
    { stdin: "pipe", stdout: "ignore", stderr: "ignore" },
  );
  watchdog.unref(); // must not keep this process alive: its exit is what the watchdog waits for
}
