/**
 * Who is in the cluster. Placement (placement.ts) is a pure function of a key and `members()`;
 * this interface is where the member list comes from. The embedded default has one member; a
 * clustered one (heartbeats in a shared store) implements the same interface.
 */

export type MembershipListener = (members: readonly string[]) => void;

export interface Membership {
  /** This node's member name. */
  readonly self: string;
  /** The live members, `self` included. The array is never mutated; a change yields a new one. */
  members(): readonly string[];
  /** Calls `listener` with the new members after each change; returns the unsubscribe function. */
  onChange(listener: MembershipListener): () => void;
}

/** A cluster of one: this node owns every key, and the membership never changes. */
export class StaticMembership implements Membership {
  readonly #members: readonly string[];

  constructor(readonly self: string) {
    if (self.length === 0) throw new RangeError("membership: self must be a non-empty name");
    this.#members = Object.freeze([self]);
  }

  members(): readonly string[] {
    return this.#members;
  }

  onChange(_listener: MembershipListener): () => void {
    // Nothing ever changes, so there is nothing to call and nothing to keep.
    return () => {};
  }
}
