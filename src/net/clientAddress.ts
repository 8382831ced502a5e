/**
 * The address a request comes from, for the per-address rate limits.
 *
 * Behind an HTTP load balancer every request arrives from the balancer, so limits per peer address
 * would make all players share one budget. When the peer is a trusted proxy (`TRUSTED_PROXIES`),
 * the client is the rightmost address in `X-Forwarded-For` that is not itself a trusted proxy: the
 * entries to its left were written by the client and prove nothing. With no trusted proxies the
 * header is ignored, so a client cannot pick its own address.
 */
import { isIPv4, isIPv6 } from "node:net";

/** An IPv4 or IPv6 network: the address's bytes and how many leading bits must match. */
export interface Network {
  bytes: Uint8Array;
  prefixBits: number;
}

/** Entries of one `X-Forwarded-For` looked at, from the right, at most. */
const forwardedHopsMax = 32;

function ipv4Bytes(text: string): Uint8Array {
  return Uint8Array.from(text.split("."), Number);
}

function ipv6Bytes(text: string): Uint8Array {
  let head = text;
  const bytes = new Uint8Array(16);
  let tailV4: Uint8Array | undefined;
  const lastColon = head.lastIndexOf(":");
  if (head.includes(".", lastColon)) {
    tailV4 = ipv4Bytes(head.slice(lastColon + 1));
    head = `${head.slice(0, lastColon + 1)}0:0`;
  }
  const [left = "", right] = head.split("::");
  const groups = (part: string) => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  const leftGroups = groups(left);
  const rightGroups = right === undefined ? [] : groups(right);
  const all = [
    ...leftGroups,
    ...Array(8 - leftGroups.length - rightGroups.length).fill(0),
    ...rightGroups,
  ];
  all.forEach((group, i) => {
    bytes[2 * i] = group >> 8;
    bytes[2 * i + 1] = group & 0xff;
  });
  if (tailV4 !== undefined) bytes.set(tailV4, 12);
  return bytes;
}

const v4MappedPrefix = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
const nat64Prefix = [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];

/**
 * The bytes of an IP address (4 for IPv4 and IPv4-mapped IPv6, else 16), or undefined. Accepts
 * the forms proxies write: brackets around IPv6, a zone, a `:port` after IPv4 or `]`.
 */
export function parseAddress(raw: string): Uint8Array | undefined {
  let text = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text);
  if (bracketed?.[1] !== undefined) text = bracketed[1];
  else if (/^[\d.]+:\d{1,5}$/.test(text)) text = text.slice(0, text.indexOf(":"));
  text = text.replace(/%[\w.-]+$/, "");
  if (isIPv4(text)) return ipv4Bytes(text);
  if (!isIPv6(text)) return undefined;
  const bytes = ipv6Bytes(text);
  return v4MappedPrefix.every((byte, i) => bytes[i] === byte) ? bytes.slice(12) : bytes;
}

/** One address (a network of one) or `address/prefix`; undefined when malformed. */
export function parseNetwork(raw: string): Network | undefined {
  const [address = "", prefix, extra] = raw.trim().split("/");
  if (extra !== undefined || !(isIPv4(address) || isIPv6(address))) return undefined;
  const bytes = parseAddress(address);
  if (bytes === undefined) return undefined;
  // A mapped IPv4 network (::ffff:10.0.0.0/104) is kept as IPv4 with the prefix moved along.
  const mappedBits = bytes.length === 4 && address.includes(":") ? 96 : 0;
  if (prefix === undefined) return { bytes, prefixBits: bytes.length * 8 };
  if (!/^\d{1,3}$/.test(prefix)) return undefined;
  const prefixBits = Number(prefix) - mappedBits;
  if (prefixBits < 0 || prefixBits > bytes.length * 8) return undefined;
  return { bytes, prefixBits };
}

function contains(network: Network, address: Uint8Array): boolean {
  if (network.bytes.length !== address.length) return false;
  const whole = network.prefixBits >> 3;
  for (let i = 0; i < whole; i++) if (network.bytes[i] !== address[i]) return false;
  const rest = network.prefixBits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((network.bytes[whole] ?? 0) & mask) === ((address[whole] ?? 0) & mask);
}

/** One spelling per address, so that `::ffff:1.2.3.4` and `1.2.3.4` share a rate-limit key. */
function canonical(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2)
    groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(":");
}

/** 127.0.0.0/8 or ::1 (an IPv4-mapped loopback too). */
export function isLoopbackAddress(address: string): boolean {
  const bytes = parseAddress(address);
  if (bytes === undefined) return false;
  if (bytes.length === 4) return bytes[0] === 127;
  return bytes.every((byte, i) => byte === (i === 15 ? 1 : 0));
}

/**
 * The key the limits per address count under. An IPv6 client usually holds a whole /64 (its
 * interface bits are its own to pick), so IPv6 addresses count per /64: one budget per
 * subscriber, as IPv4 has one per address. Anything that is not an address keys as itself.
 */
export function rateLimitKeyOf(address: string): string {
  const bytes = parseAddress(address);
  if (bytes === undefined) return address;
  if (bytes.length === 4) return canonical(bytes);
  // NAT64 (64:ff9b::/96): an IPv4 client behind the translator, keyed by its own address.
  if (nat64Prefix.every((byte, i) => bytes[i] === byte)) return canonical(bytes.slice(12));
  const prefix = canonical(Uint8Array.from([...bytes.subarray(0, 8), 0, 0, 0, 0, 0, 0, 0, 0]));
  return `${prefix}/64`;
}

export class TrustedProxies {
  readonly #networks: readonly Network[];

  constructor(networks: readonly Network[]) {
    this.#networks = networks;
  }

  #trusts(address: Uint8Array): boolean {
    return this.#networks.some((network) => contains(network, address));
  }

  /**
   * The client's address for a request from `peer` carrying `forwardedFor` (the joined
   * `X-Forwarded-For` header, or null). A malformed entry stops the walk at the last trusted
   * hop: that proxy's own address is the most that can be vouched for.
   */
  clientAddress(peer: string, forwardedFor: string | null): string {
    if (this.#networks.length === 0) return peer;
    let hop = parseAddress(peer);
    if (hop === undefined || !this.#trusts(hop)) return peer;
    const entries = forwardedFor === null ? [] : forwardedFor.split(",");
    const oldest = Math.max(0, entries.length - forwardedHopsMax);
    for (let i = entries.length - 1; i >= oldest; i--) {
      const address = parseAddress(entries[i] ?? "");
      if (address === undefined) break;
      hop = address;
      if (!this.#trusts(address)) break;
    }
    return canonical(hop);
  }
}

/** The configured proxies; the configuration has checked every entry (config/load.ts). */
export function trustedProxiesFrom(entries: readonly string[]): TrustedProxies {
  return new TrustedProxies(
    entries.map((entry) => {
      const network = parseNetwork(entry);
      if (network === undefined) throw new Error(`trusted proxy "${entry}" is not an IP network`);
      return network;
    }),
  );
}
