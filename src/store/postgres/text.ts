/**
 * Postgres text cannot hold U+0000 (the server refuses such a parameter with 22021, as if the
 * database had failed), so no stored id contains one. A lookup by such an id (a round id from a
 * URL, say) is answered "not found" without asking the server.
 */
export function isStorableText(text: string): boolean {
  return !text.includes("\u0000");
}
