import { describe, expect, it } from "vitest";
import { OAuthClient, retryAfterMs } from "../../functions/broker/adapters/oauth-client.ts";
import { IdpError } from "../../functions/broker/core/errors.ts";
import { FakeClock } from "./support/fakes.ts";

// Unit tests of retry/timeout/classification rules with a scripted fetch; the real HTTP path is covered
// against the simulator's OAuth endpoint in broker.integration.test.ts.

type Step = Response | Error;
function scriptedFetch(steps: Step[]) {
  const requests: { url: string; init: RequestInit }[] = [];
  const fn = (async (url: string, init: RequestInit) => {
    requests.push({ url, init });
    const step = steps.shift();
    if (!step) throw new Error("script exhausted");
    if (step instanceof Error) throw step;
    return step;
  }) as unknown as typeof fetch;
  return { fn, requests };
}
const ok = (body: unknown = { access_token: "abc", token_type: "bearer", expires_in: 300 }) =>
  new Response(JSON.stringify(body), { status: 200 });
const creds = { clientId: "id", clientSecret: "s3cret" };

function client(steps: Step[], clock = new FakeClock(), random = () => 0.5) {
  const fetch = scriptedFetch(steps);
  const c = new OAuthClient({
    clock,
    timeoutMs: 1000,
    fetch: fetch.fn,
    random,
    baseBackoffMs: 100,
    maxBackoffMs: 800,
  });
  return { c, clock, fetch };
}
const deadline = (clock: FakeClock) => ({ deadlineMs: clock.now() + 60_000 });

describe("OAuth client", () => {
  it("posts client_credentials with HTTP Basic auth", async () => {
    const { c, clock, fetch } = client([ok()]);
    await expect(c.mint("https://login.x", creds, deadline(clock))).resolves.toEqual({
      accessToken: "abc",
      expiresInSeconds: 300,
    });
    const req = fetch.requests[0]!;
    expect(req.url).toBe("https://login.x/oauth/token");
    expect(req.init.body).toBe("grant_type=client_credentials");
    expect((req.init.headers as Record<string, string>).Authorization).toBe(
      `Basic ${Buffer.from("id:s3cret").toString("base64")}`,
    );
    expect(req.init.signal).toBeInstanceOf(AbortSignal);
  });

  it("honours Retry-After on 429", async () => {
    const { c, clock } = client([new Response("{}", { status: 429, headers: { "Retry-After": "2" } }), ok()]);
    await c.mint("https://login.x", creds, deadline(clock));
    expect(clock.sleeps).toEqual([2000]);
  });

  it("gives up when Retry-After is longer than the cap", async () => {
    const { c, clock } = client([
      new Response("{}", { status: 429, headers: { "Retry-After": "3600" } }),
      ok(),
    ]);
    await expect(c.mint("https://login.x", creds, deadline(clock))).rejects.toMatchObject({
      kind: "rate_limited",
    });
    expect(clock.sleeps).toEqual([]);
  });

  it("retries 5xx and network errors with full-jitter backoff", async () => {
    const { c, clock } = client(
      [new Response("", { status: 502 }), new TypeError("fetch failed"), ok()],
      undefined,
      () => 0.999,
    );
    await c.mint("https://login.x", creds, deadline(clock));
    expect(clock.sleeps).toEqual([99, 199]);
  });

  it("reports a timeout as unavailable after the attempts", async () => {
    const timeout = () => Object.assign(new Error("aborted"), { name: "TimeoutError" });
    const { c, clock } = client([timeout(), timeout(), timeout(), timeout()]);
    const error = await c.mint("https://login.x", creds, deadline(clock)).catch((e) => e);
    expect(error).toBeInstanceOf(IdpError);
    expect(error).toMatchObject({ kind: "unavailable", message: "no answer within 1000 ms" });
    expect(clock.sleeps).toHaveLength(3);
  });

  it.each([
    [401, '{"error":"invalid_client"}', "invalid_client"],
    [400, '{"error":"invalid_client","description":"bad secret s3cret"}', "invalid_client"],
    [400, '{"error":"unsupported_grant_type"}', "rejected"],
  ])("%i %s is permanent (%s), no retry", async (status, body, kind) => {
    const { c, clock, fetch } = client([new Response(body, { status }), ok()]);
    const error = await c.mint("https://login.x", creds, deadline(clock)).catch((e) => e);
    expect(error).toMatchObject({ kind, permanent: true, code: "idp_invalid_client" });
    expect(String(error.message)).not.toContain("s3cret");
    expect(fetch.requests).toHaveLength(1);
  });

  it("garbage 200 body is a typed error, not a crash", async () => {
    const { c, clock } = client([new Response("<html>proxy</html>", { status: 200 })]);
    await expect(c.mint("https://login.x", creds, deadline(clock))).rejects.toMatchObject({
      kind: "malformed_response",
      code: "idp_unavailable",
    });
  });

  it("never starts an attempt past the deadline", async () => {
    const clock = new FakeClock();
    const { c, fetch } = client([new Response("", { status: 500 }), ok()], clock, () => 0.999);
    await expect(c.mint("https://login.x", creds, { deadlineMs: clock.now() + 50 })).rejects.toMatchObject({
      kind: "unavailable",
    });
    expect(fetch.requests).toHaveLength(1);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs("1.5", 0)).toBe(1500);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs("soon", 0)).toBeUndefined();
    expect(retryAfterMs(null, 0)).toBeUndefined();
  });
});
