/**
 * A connection URL fit for a message: its user name and password (Redis and Postgres URLs carry
 * them) replaced, so an error or a log line never hands out a credential.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === "" && parsed.password === "") return url;
    parsed.username = parsed.username === "" ? "" : "***";
    parsed.password = parsed.password === "" ? "" : "***";
    return parsed.toString();
  } catch {
    return "(a URL that cannot be parsed)";
  }
}
