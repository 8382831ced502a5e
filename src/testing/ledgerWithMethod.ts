import type { Ledger } from "../store/ledger.ts";

/**
 * The real ledger with one method replaced (a gate, a fault) and every other call passed through:
 * how tests put a slow or failing store in front of a node without faking the store.
 */
export function ledgerWithMethod<K extends keyof Ledger>(
  ledger: Ledger,
  name: K,
  replacement: Ledger[K],
): Ledger {
  return new Proxy(ledger, {
    get(target, property) {
      if (property === name) return replacement;
      const value: unknown = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
