import type { IncomingMessage, ServerResponse } from "node:http";
import type { HttpFault } from "./types.ts";

const MAX_BODY_BYTES = 1024 * 1024;

export class BodyTooLargeError extends Error {}

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError("request body too large");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { "content-length": 0 });
  res.end();
}

/** Genesys Cloud's error body shape. */
export function genesysError(status: number, code: string, message: string): object {
  return { message, code, status, contextId: "sim", details: [], errors: [] };
}

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Serves a forced failure. Returns true when the response is done (the caller must stop),
 * false for `slow` (already waited: serve normally).
 */
export async function applyFault(
  res: ServerResponse,
  fault: HttpFault,
  style: "oauth" | "genesys",
  signal: AbortSignal,
): Promise<boolean> {
  if ("kind" in fault) {
    switch (fault.kind) {
      case "slow":
        await delay(fault.delayMs, signal);
        return false;
      case "garbage":
        res.writeHead(200, { "content-type": "application/json" });
        res.end("<html><body>502 upstream hiccup</body></html>{not json");
        return true;
      case "reset":
        res.socket?.destroy();
        return true;
    }
  }
  switch (fault.status) {
    case 429: {
      const retryAfter = String(fault.retryAfterSec ?? 1);
      sendJson(
        res,
        429,
        genesysError(
          429,
          "too.many.requests.retry.after",
          `Rate limit exceeded the maximum. Retry the request in [${retryAfter}] seconds`,
        ),
        { "retry-after": retryAfter },
      );
      return true;
    }
    case 400:
    case 401:
      if (style === "oauth") {
        sendJson(res, fault.status, { error: "invalid_client", description: "client authentication failed" });
      } else {
        sendJson(
          res,
          fault.status,
          genesysError(
            fault.status,
            fault.status === 401 ? "bad.credentials" : "bad.request",
            "forced failure",
          ),
        );
      }
      return true;
    default:
      sendJson(
        res,
        fault.status,
        genesysError(fault.status, "internal.server.error", "The server encountered an internal error"),
      );
      return true;
  }
}
