import { assertNever, CroupierError } from "../../errors.ts";
import type { CheckpointerSettings, FromCheckpointer, ToCheckpointer } from "./checkpointer.ts";

/**
 * The main thread's handle on the checkpointer thread. Losing that thread loses no data and stops
 * no write: the writer's autocheckpoint still bounds the WAL (with the old stalls), so a failure is
 * logged and counted, not escalated.
 */
export class CheckpointerClient {
  readonly #worker: Worker;
  readonly #started = Promise.withResolvers<void>();
  readonly #stopped = Promise.withResolvers<void>();
  #running = false;
  /** Passes that failed (each is retried at the next interval). */
  passesFailed = 0;

  private constructor(settings: CheckpointerSettings) {
    this.#worker = new Worker(new URL("./checkpointer.ts", import.meta.url).href);
    this.#worker.addEventListener("message", (event: MessageEvent<FromCheckpointer>) =>
      this.#receive(event.data),
    );
    this.#worker.addEventListener("error", (event) => this.#gone(`failed: ${event.message}`));
    this.#worker.addEventListener("close", () => this.#gone("exited"));
    this.#post({ type: "start", settings });
  }

  /** Starts the thread and waits until its connection is open; rejects with INTERNAL otherwise. */
  static async start(
    settings: CheckpointerSettings,
    timeoutMs: number,
  ): Promise<CheckpointerClient> {
    const client = new CheckpointerClient(settings);
    const timer = setTimeout(
      () => client.#started.reject(new CroupierError("INTERNAL", "checkpointer did not start")),
      timeoutMs,
    );
    try {
      await client.#started.promise;
      client.#running = true;
      return client;
    } catch (error) {
      client.terminate();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the passes and closes the connection, waiting at most `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    if (this.#running) {
      this.#post({ type: "stop" });
      const timer = setTimeout(() => this.#stopped.resolve(), timeoutMs);
      await this.#stopped.promise;
      clearTimeout(timer);
    }
    this.terminate();
  }

  terminate(): void {
    this.#running = false;
    this.#worker.terminate();
  }

  #post(message: ToCheckpointer): void {
    this.#worker.postMessage(message);
  }

  #receive(message: FromCheckpointer): void {
    switch (message.type) {
      case "started":
        this.#started.resolve();
        break;
      case "start_failed":
        this.#started.reject(
          new CroupierError("INTERNAL", `checkpointer could not open: ${message.message}`),
        );
        break;
      case "pass_failed":
        this.passesFailed += 1;
        if (this.passesFailed === 1) console.error(`ledger checkpoint failed: ${message.message}`);
        break;
      case "stopped":
        this.#running = false;
        this.#stopped.resolve();
        break;
      default:
        assertNever(message);
    }
  }

  #gone(reason: string): void {
    this.#started.reject(new CroupierError("INTERNAL", `checkpointer thread ${reason}`));
    if (!this.#running) return;
    this.#running = false;
    this.#stopped.resolve();
    console.error(
      `ledger checkpointer thread ${reason}; the writer's autocheckpoint bounds the WAL`,
    );
  }
}
