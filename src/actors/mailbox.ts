/**
 * A bounded FIFO ring buffer: the messages waiting for one actor.
 *
 * The bound is `capacity` and never moves: `push` on a full mailbox returns false. Storage is
 * allocated on demand and grows by doubling up to `capacity` (never past it), because most
 * actors never have more than a message or two waiting and 100,000 idle actors must stay cheap.
 */
export const mailboxSlotsInitial = 4;

export class Mailbox<T> {
  #slots: (T | undefined)[] = [];
  #head = 0;
  #length = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`mailbox capacity must be a positive integer, got ${capacity}`);
    }
  }

  get length(): number {
    return this.#length;
  }

  /** Slots currently allocated; at most `capacity`. */
  get slotsAllocated(): number {
    return this.#slots.length;
  }

  /** Appends at the tail; false (and nothing stored) when full. */
  push(item: T): boolean {
    if (this.#length === this.capacity) return false;
    if (this.#length === this.#slots.length) this.#grow();
    this.#slots[(this.#head + this.#length) % this.#slots.length] = item;
    this.#length += 1;
    return true;
  }

  /** Removes and returns the head; undefined when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#slots[this.#head];
    this.#slots[this.#head] = undefined; // the buffer must not keep a processed message alive
    this.#head = (this.#head + 1) % this.#slots.length;
    this.#length -= 1;
    return item;
  }

  #grow(): void {
    const size = Math.min(Math.max(this.#slots.length * 2, mailboxSlotsInitial), this.capacity);
    if (size <= this.#slots.length) throw new Error("mailbox: grow past capacity"); // programmer error
    const slots = new Array<T | undefined>(size);
    for (let index = 0; index < this.#length; index += 1) {
      slots[index] = this.#slots[(this.#head + index) % this.#slots.length];
    }
    this.#slots = slots;
    this.#head = 0;
  }
}
