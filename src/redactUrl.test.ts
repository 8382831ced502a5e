import { describe, expect, test } from "bun:test";
import { redactUrl } from "./redactUrl.ts";

describe("redact url", () => {
  test("redact url - user names and passwords never reach a message", () => {
    expect(redactUrl("redis://:s3cret@127.0.0.1:6379")).toBe("redis://:***@127.0.0.1:6379");
    expect(redactUrl("postgres://app:s3cret@db:5432/ledger")).toBe(
      "postgres://***:***@db:5432/ledger",
    );
    expect(redactUrl("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
    expect(redactUrl("not a url s3cret")).not.toContain("s3cret");
  });
});
