/** POST /oauth/token: client_credentials with HTTP Basic client authentication, plus forced faults. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FaultQueue } from "./fault-queue.ts";
import { applyFault, readBody, sendJson } from "./http-util.ts";
import type { TokenStore } from "./tokens.ts";
import type { SimulatedClient, SimulatorCounters } from "./types.ts";

export interface OAuthDeps {
  clients: ReadonlyMap<string, SimulatedClient>;
  tokens: TokenStore;
  counters: SimulatorCounters;
  faults: FaultQueue;
  defaultLifetimeSec: number;
  signal: AbortSignal;
}

function oauthError(
  res: ServerResponse,
  deps: OAuthDeps,
  status: number,
  error: string,
  description: string,
) {
  deps.counters.oauthFailures++;
  sendJson(res, status, { error, description });
}

/** Client id/secret from `Authorization: Basic base64(id:secret)`, or undefined. */
export function parseBasicAuth(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? "");
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

export async function handleOAuth(req: IncomingMessage, res: ServerResponse, deps: OAuthDeps): Promise<void> {
  deps.counters.tokenRequests++;
  const fault = deps.faults.take();
  if (fault) {
    const done = await applyFault(res, fault, "oauth", deps.signal);
    if (done) {
      deps.counters.oauthFailures++;
      return;
    }
    if (deps.signal.aborted) return;
  }
  if (req.method !== "POST") {
    res.setHeader("allow", "POST");
    return oauthError(res, deps, 405, "invalid_request", "use POST");
  }
  const body = new URLSearchParams(await readBody(req));
  const credentials = parseBasicAuth(req.headers.authorization);
  const client = credentials ? deps.clients.get(credentials.id) : undefined;
  if (!client || client.clientSecret !== credentials?.secret) {
    return oauthError(res, deps, 401, "invalid_client", "client authentication failed");
  }
  const grant = body.get("grant_type");
  if (!grant) return oauthError(res, deps, 400, "invalid_request", "grant_type is required");
  if (grant !== "client_credentials") {
    return oauthError(res, deps, 400, "unsupported_grant_type", "only client_credentials is supported");
  }
  const lifetimeSec = client.tokenLifetimeSec ?? deps.defaultLifetimeSec;
  const { accessToken } = deps.tokens.issue(client.clientId, lifetimeSec);
  deps.counters.tokensIssued++;
  sendJson(
    res,
    200,
    { access_token: accessToken, token_type: "bearer", expires_in: lifetimeSec },
    {
      "cache-control": "no-store",
    },
  );
}
