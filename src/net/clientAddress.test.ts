import { describe, expect, test } from "bun:test";
import {
  isLoopbackAddress,
  parseAddress,
  parseNetwork,
  rateLimitKeyOf,
  trustedProxiesFrom,
} from "./clientAddress.ts";

describe("client address", () => {
  test("client address - addresses parse in the forms proxies write them", () => {
    expect(parseAddress("10.1.2.3")).toEqual(Uint8Array.from([10, 1, 2, 3]));
    expect(parseAddress(" 10.1.2.3:5123 ")).toEqual(Uint8Array.from([10, 1, 2, 3]));
    expect(parseAddress("::ffff:10.1.2.3")).toEqual(Uint8Array.from([10, 1, 2, 3]));
    expect(parseAddress("[2001:db8::1]:443")?.length).toBe(16);
    expect(parseAddress("fe80::1%eth0")?.[0]).toBe(0xfe);
    expect(parseAddress("2001:db8::1")).toEqual(
      Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
    );
    for (const bad of ["", "unknown", "10.1.2", "10.1.2.256", "1.2.3.4.5", "2001:db8:::1", "x::1"])
      expect(parseAddress(bad)).toBeUndefined();
  });

  test("client address - networks need a valid prefix for their family", () => {
    expect(parseNetwork("10.0.0.0/8")).toEqual({
      bytes: Uint8Array.from([10, 0, 0, 0]),
      prefixBits: 8,
    });
    expect(parseNetwork("10.0.0.7")?.prefixBits).toBe(32);
    expect(parseNetwork("fd00::/8")?.prefixBits).toBe(8);
    expect(parseNetwork("::ffff:10.0.0.0/104")).toEqual({
      bytes: Uint8Array.from([10, 0, 0, 0]),
      prefixBits: 8,
    });
    for (const bad of [
      "10.0.0.0/33",
      "fd00::/129",
      "10.0.0.0/",
      "10.0.0.0/8/8",
      "10.0.0.0:80",
      "[::1]",
      "10/8",
      "10.0.0.0/-1",
    ])
      expect(parseNetwork(bad)).toBeUndefined();
  });

  test("client address - without trusted proxies the header is ignored", () => {
    const proxies = trustedProxiesFrom([]);
    expect(proxies.clientAddress("10.0.0.5", "203.0.113.9")).toBe("10.0.0.5");
  });

  test("client address - the rightmost address not of a trusted proxy is the client", () => {
    const proxies = trustedProxiesFrom(["10.0.0.0/8", "fd00::/8"]);
    // A spoofed entry left of the real client changes nothing.
    expect(proxies.clientAddress("10.0.0.5", "1.1.1.1, 203.0.113.9, 10.9.9.9")).toBe("203.0.113.9");
    expect(proxies.clientAddress("::ffff:10.0.0.5", "203.0.113.9")).toBe("203.0.113.9");
    expect(proxies.clientAddress("fd00::5", "[2001:db8::7]:1234")).toBe("2001:db8:0:0:0:0:0:7");
    expect(proxies.clientAddress("10.0.0.5", "::ffff:203.0.113.9")).toBe("203.0.113.9");
  });

  test("client address - a peer that is not a trusted proxy is the client, whatever it forwards", () => {
    const proxies = trustedProxiesFrom(["10.0.0.0/8"]);
    expect(proxies.clientAddress("192.0.2.1", "203.0.113.9")).toBe("192.0.2.1");
    expect(proxies.clientAddress("11.0.0.1", "203.0.113.9")).toBe("11.0.0.1");
  });

  test("client address - a trusted proxy without a usable header stands for its client", () => {
    const proxies = trustedProxiesFrom(["10.0.0.0/8"]);
    expect(proxies.clientAddress("10.0.0.5", null)).toBe("10.0.0.5");
    expect(proxies.clientAddress("10.0.0.5", "")).toBe("10.0.0.5");
    // A malformed entry stops the walk at the last hop that can be vouched for.
    expect(proxies.clientAddress("10.0.0.5", "203.0.113.9, garbage")).toBe("10.0.0.5");
    expect(proxies.clientAddress("10.0.0.5", "garbage, 10.0.0.6")).toBe("10.0.0.6");
    // Only trusted hops: the leftmost is as close to the client as can be known.
    expect(proxies.clientAddress("10.0.0.5", "10.0.0.7, 10.0.0.6")).toBe("10.0.0.7");
  });

  test("client address - a header of many hops is read only so far from the right", () => {
    const proxies = trustedProxiesFrom(["10.0.0.0/8"]);
    const hops = Array.from({ length: 1000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    expect(proxies.clientAddress("10.0.0.5", ["203.0.113.9", ...hops].join(","))).toBe(
      "10.0.3.200",
    );
  });

  test("client address - limits count IPv4 per address and IPv6 per /64", () => {
    expect(rateLimitKeyOf("203.0.113.9")).toBe("203.0.113.9");
    expect(rateLimitKeyOf("::ffff:203.0.113.9")).toBe("203.0.113.9");
    const one = rateLimitKeyOf("2001:db8:1:2:aaaa:bbbb:cccc:dddd");
    expect(one).toBe("2001:db8:1:2:0:0:0:0/64");
    expect(rateLimitKeyOf("2001:db8:1:2::1")).toBe(one);
    expect(rateLimitKeyOf("2001:db8:1:3::1")).not.toBe(one);
    expect(rateLimitKeyOf("unknown")).toBe("unknown");
    // Behind NAT64 each IPv4 client keeps its own key.
    expect(rateLimitKeyOf("64:ff9b::203.0.113.9")).toBe("203.0.113.9");
    expect(rateLimitKeyOf("64:ff9b::198.51.100.1")).toBe("198.51.100.1");
  });

  test("client address - loopback is 127.0.0.0/8 and ::1, mapped or not", () => {
    for (const address of ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"])
      expect(isLoopbackAddress(address)).toBe(true);
    for (const address of ["10.0.0.1", "::", "::2", "fd00::1", "unknown", ""])
      expect(isLoopbackAddress(address)).toBe(false);
  });
});
