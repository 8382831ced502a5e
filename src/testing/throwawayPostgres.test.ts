import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import postgres from "postgres";
import { findPostgresBinaries, startThrowawayPostgres } from "./throwawayPostgres.ts";

const installed = findPostgresBinaries() !== undefined;

test.if(installed)(
  "throwaway postgres - answers on 127.0.0.1, stops and leaves nothing",
  async () => {
    const server = await startThrowawayPostgres();
    try {
      expect(server.url).toStartWith("postgres://postgres@127.0.0.1:");
      const client = postgres(server.url, { max: 1, onnotice: () => {} });
      try {
        const [row] = await client`SELECT current_setting('listen_addresses') AS listen`;
        expect(row).toEqual({ listen: "127.0.0.1" });
      } finally {
        await client.end({ timeout: 1 });
      }
    } finally {
      server.stop();
    }
    expect(existsSync(server.dir)).toBe(false);
    const client = postgres(server.url, { max: 1, connect_timeout: 1, onnotice: () => {} });
    try {
      await expect(client`SELECT 1`).rejects.toThrow();
    } finally {
      await client.end({ timeout: 0 });
    }
  },
);
