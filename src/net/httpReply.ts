import { timingSafeEqual } from "node:crypto";
import { CroupierError, type ErrorCode, httpStatusByCode, toCroupierError } from "../errors.ts";
import type { Logger } from "../log.ts";

const jsonHeaders = { "content-type": "application/json" };

export function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: jsonHeaders });
}

/** A stored reply is already JSON text: send it byte for byte. */
export function jsonText(status: number, text: string): Response {
  return new Response(text, { status, headers: jsonHeaders });
}

export function errorResponse(code: ErrorCode, message: string): Response {
  return json(httpStatusByCode[code], { error: { code, message } });
}

/** The error's answer; an unexpected one (not a CroupierError) is logged, as it is a bug. */
export function responseForError(error: unknown, log: Logger): Response {
  const croupierError = toCroupierError(error);
  if (croupierError.code === "INTERNAL" && !(error instanceof CroupierError))
    log.error("request failed", error);
  return errorResponse(croupierError.code, croupierError.message);
}

export function bearerToken(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  if (header === null) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}

/** Constant-time comparison, so the key cannot be guessed byte by byte from response times. */
export function isOperatorKey(
  candidate: string | undefined,
  operatorKey: string | undefined,
): boolean {
  if (candidate === undefined || operatorKey === undefined) return false;
  const a = Buffer.from(candidate);
  const b = Buffer.from(operatorKey);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Reads a JSON object body of at most `bytesMax`; anything else is a CroupierError. */
export async function readJsonBody(
  request: Request,
  bytesMax: number,
): Promise<Record<string, unknown>> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > bytesMax)
    throw new CroupierError("PAYLOAD_TOO_LARGE", `body over ${bytesMax} bytes`);
  const text = await readBodyText(request, bytesMax);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CroupierError("BAD_REQUEST", "body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CroupierError("BAD_REQUEST", "body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

/**
 * The body as text, read chunk by chunk and abandoned past `bytesMax`: a chunked body declares no
 * length, and reading it whole first would hold up to the server's own cap. A body that cannot be
 * read (the server's cap, a client gone mid-body) is the client's error, not an INTERNAL one.
 */
async function readBodyText(request: Request, bytesMax: number): Promise<string> {
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (bytes > bytesMax) {
        reader.cancel().catch(() => undefined);
        throw new CroupierError("PAYLOAD_TOO_LARGE", `body over ${bytesMax} bytes`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof CroupierError) throw error;
    throw new CroupierError("PAYLOAD_TOO_LARGE", `body could not be read within ${bytesMax} bytes`);
  }
  // TextDecoder drops a leading byte-order mark, as request.text() does; JSON.parse would not.
  return bodyDecoder.decode(Buffer.concat(chunks));
}

const bodyDecoder = new TextDecoder();
