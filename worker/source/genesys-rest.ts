/**
 * Genesys Cloud Notifications REST calls a session needs: create a channel, PUT its subscriptions, remove
 * an abandoned channel's subscriptions. Failures come back as SessionFailure (rest-error with Retry-After
 * and Genesys' own error code and message, or network), never with a token.
 */
import { fingerprint } from "../../shared/fingerprint.ts";
import type { SessionFailure } from "../core/close-policy.ts";
import { retryAfterSeconds } from "./retry-after.ts";

export interface Channel {
  id: string;
  connectUri: string;
  expiresAtMs: number | undefined;
}

export class RestFailure extends Error {
  constructor(readonly failure: SessionFailure) {
    super(
      failure.kind === "rest-error"
        ? `genesys REST HTTP ${failure.status}`
        : `genesys REST ${failure.kind === "network" ? failure.message : failure.kind}`,
    );
    this.name = "RestFailure";
  }
}

export interface GenesysRestOptions {
  apiUrl: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export class GenesysRest {
  readonly #base: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(opts: GenesysRestOptions) {
    this.#base = `${opts.apiUrl.replace(/\/+$/, "")}/api/v2/notifications/channels`;
    this.#fetch = opts.fetch ?? fetch;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async createChannel(accessToken: string): Promise<Channel> {
    const body = await this.#request("POST", this.#base, accessToken);
    const parsed = body as { id?: unknown; connectUri?: unknown; expires?: unknown } | null;
    if (typeof parsed?.id !== "string" || typeof parsed.connectUri !== "string") {
      throw new RestFailure({ kind: "rest-error", status: 502 });
    }
    const expiresAtMs = typeof parsed.expires === "string" ? Date.parse(parsed.expires) : Number.NaN;
    return {
      id: parsed.id,
      connectUri: parsed.connectUri,
      expiresAtMs: Number.isFinite(expiresAtMs) ? expiresAtMs : undefined,
    };
  }

  /**
   * PUT the channel's subscriptions with `ignoreErrors=true`: topics the client may not see are refused
   * one by one (listed with `state: "Rejected"`, or missing from the answer) instead of failing the whole
   * request with a 403. Returns the refused topics.
   */
  async putSubscriptions(
    accessToken: string,
    channelId: string,
    topics: readonly string[],
  ): Promise<string[]> {
    const url = `${this.#base}/${encodeURIComponent(channelId)}/subscriptions?ignoreErrors=true`;
    const body = await this.#request(
      "PUT",
      url,
      accessToken,
      topics.map((id) => ({ id })),
    );
    const entities = (body as { entities?: unknown } | null)?.entities;
    // An answer without a listing (e.g. an empty 200) cannot say anything was refused.
    if (!Array.isArray(entities)) return [];
    const permitted = new Set<string>();
    for (const e of entities as Array<{ id?: unknown; state?: unknown }>) {
      if (typeof e?.id === "string" && e.state !== "Rejected") permitted.add(e.id);
    }
    return topics.filter((t) => !permitted.has(t));
  }

  /** The channel's subscriptions (topic ids): the periodic probe of a live channel and its token. */
  async getSubscriptions(accessToken: string, channelId: string): Promise<string[]> {
    const body = await this.#request(
      "GET",
      `${this.#base}/${encodeURIComponent(channelId)}/subscriptions`,
      accessToken,
    );
    const entities = (body as { entities?: unknown } | null)?.entities;
    if (!Array.isArray(entities)) throw new RestFailure({ kind: "rest-error", status: 502 });
    return entities.flatMap((e) =>
      typeof (e as { id?: unknown })?.id === "string" ? [(e as { id: string }).id] : [],
    );
  }

  /** Removes every subscription of a channel the worker abandons, so it stops costing upstream work. */
  async deleteSubscriptions(accessToken: string, channelId: string): Promise<void> {
    await this.#request(
      "DELETE",
      `${this.#base}/${encodeURIComponent(channelId)}/subscriptions`,
      accessToken,
    );
  }

  async #request(method: string, url: string, accessToken: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers: {
          authorization: `Bearer ${accessToken}`,
          "content-type": "application/json",
          accept: "application/json",
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const name = err instanceof Error ? (err.name === "TimeoutError" ? "timeout" : err.name) : "unknown";
      throw new RestFailure({ kind: "network", message: name });
    }
    const text = await res.text().catch(() => "");
    if (!res.ok) {
      const retryAfterSec = retryAfterSeconds(res.headers.get("retry-after"));
      throw new RestFailure({
        kind: "rest-error",
        status: res.status,
        ...(retryAfterSec === undefined ? {} : { retryAfterSec }),
        ...upstreamError(text, accessToken),
      });
    }
    if (text === "") return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new RestFailure({ kind: "rest-error", status: 502 });
    }
  }
}

/** Genesys' error body `{code, message, ...}`, cut short and with the token (should it be echoed) replaced. */
export function upstreamError(
  text: string,
  accessToken: string,
): { upstreamCode?: string; upstreamMessage?: string } {
  let parsed: { code?: unknown; message?: unknown } | null;
  try {
    parsed = JSON.parse(text) as { code?: unknown; message?: unknown } | null;
  } catch {
    return {};
  }
  if (!parsed || typeof parsed !== "object") return {};
  const clean = (v: unknown): string | undefined => {
    if (typeof v !== "string" || v === "") return undefined;
    const scrubbed = accessToken ? v.split(accessToken).join(`[token ${fingerprint(accessToken)}]`) : v;
    return scrubbed.slice(0, 300);
  };
  const out: { upstreamCode?: string; upstreamMessage?: string } = {};
  const code = clean(parsed.code);
  const message = clean(parsed.message);
  if (code !== undefined) out.upstreamCode = code;
  if (message !== undefined) out.upstreamMessage = message;
  return out;
}
