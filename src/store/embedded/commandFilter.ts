/**
 * A Bloom filter over the command ids in `command_index`, so that the writer looks a new id up
 * in SQLite only when the filter cannot rule it out. Almost every write brings a new id, and
 * the lookup it saves (a B-tree seek of two text keys) cost about 3 us of the writer's time per
 * spin, a fifth of it.
 *
 * It grows without being rebuilt: a chain of filters, each twice the capacity of the one before,
 * new keys going into the newest; a key may be present when every filter of the chain says so
 * for one of them. At `bitsPerKey` 10 and 7 probes, each filter answers "maybe" for an absent
 * key about 1% of the time. Memory: about 1.25 bytes per indexed command.
 */

const bitsPerKey = 10;
const probes = 7;
const firstCapacity = 1 << 16;

interface Filter {
  bits: Uint32Array;
  /** Bit count - 1 (a power of two, so a mask picks the bit). */
  mask: number;
  capacity: number;
  keys: number;
}

function newFilter(capacity: number): Filter {
  const bitCount = 2 ** Math.ceil(Math.log2(capacity * bitsPerKey));
  return { bits: new Uint32Array(bitCount / 32), mask: bitCount - 1, capacity, keys: 0 };
}

/**
 * Probe i looks at h1 + i * h2 (double hashing). h2 is mixed from h1 rather than hashed again:
 * one hash of the key per call, and keys share all probes only when their 32-bit hashes collide.
 */
function hashesOf(key: string): [number, number] {
  const h1 = Bun.hash.xxHash32(key);
  const mixed = Math.imul(h1 ^ (h1 >>> 15), 0x2c1b3c6d);
  return [h1, (mixed ^ (mixed >>> 12)) | 1];
}

export class CommandFilter {
  readonly #filters: Filter[] = [newFilter(firstCapacity)];

  add(key: string): void {
    let filter = this.#filters.at(-1) as Filter;
    if (filter.keys >= filter.capacity) {
      filter = newFilter(filter.capacity * 2);
      this.#filters.push(filter);
    }
    const [h1, h2] = hashesOf(key);
    for (let i = 0; i < probes; i++) {
      const bit = (h1 + Math.imul(i, h2)) & filter.mask;
      filter.bits[bit >>> 5] = (filter.bits[bit >>> 5] as number) | (1 << (bit & 31));
    }
    filter.keys += 1;
  }

  /** False only for a key never added; true for every key added, and ~1% of the others. */
  mayHave(key: string): boolean {
    const [h1, h2] = hashesOf(key);
    for (const filter of this.#filters) {
      let all = true;
      for (let i = 0; i < probes && all; i++) {
        const bit = (h1 + Math.imul(i, h2)) & filter.mask;
        all = ((filter.bits[bit >>> 5] as number) & (1 << (bit & 31))) !== 0;
      }
      if (all) return true;
    }
    return false;
  }

  /** Keys added so far. */
  get size(): number {
    return this.#filters.reduce((sum, filter) => sum + filter.keys, 0);
  }
}
