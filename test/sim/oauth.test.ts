import { afterEach, describe, expect, it } from "vitest";
import { fingerprint } from "../../shared/fingerprint.ts";
import { type Simulator, startSimulator } from "../../sim/index.ts";
import { api, getToken, requestToken, waitFor } from "./helpers.ts";

let sim: Simulator;
afterEach(async () => {
  await sim?.close();
});

describe("OAuth client_credentials", () => {
  it("issues opaque bearer tokens with the configured lifetime and counts them", async () => {
    sim = await startSimulator({ tokenLifetimeSec: 120 });
    const first = await requestToken(sim);
    const second = await requestToken(sim);
    expect(first.status).toBe(200);
    const body = first.json as Record<string, unknown>;
    expect(body.token_type).toBe("bearer");
    expect(body.expires_in).toBe(120);
    expect(typeof body.access_token).toBe("string");
    expect((body.access_token as string).length).toBeGreaterThanOrEqual(32);
    expect((second.json as { access_token: string }).access_token).not.toBe(body.access_token);
    expect(sim.counters.tokenRequests).toBe(2);
    expect(sim.counters.tokensIssued).toBe(2);
    expect(sim.counters.oauthFailures).toBe(0);
  });

  it("uses a per-client lifetime when configured", async () => {
    sim = await startSimulator({
      clients: [
        { clientId: "a", clientSecret: "sa", tokenLifetimeSec: 300 },
        { clientId: "b", clientSecret: "sb" },
      ],
      tokenLifetimeSec: 900,
    });
    expect(
      ((await requestToken(sim, { id: "a", secret: "sa" })).json as { expires_in: number }).expires_in,
    ).toBe(300);
    expect(
      ((await requestToken(sim, { id: "b", secret: "sb" })).json as { expires_in: number }).expires_in,
    ).toBe(900);
  });

  it("rejects wrong credentials with 401 invalid_client and issues nothing", async () => {
    sim = await startSimulator();
    const wrongSecret = await requestToken(sim, { secret: "nope" });
    const unknownClient = await requestToken(sim, { id: "ghost" });
    const noAuth = await requestToken(sim, { authorization: null });
    const malformed = await requestToken(sim, { authorization: "Basic !!!" });
    for (const res of [wrongSecret, unknownClient, noAuth, malformed]) {
      expect(res.status).toBe(401);
      expect((res.json as { error: string }).error).toBe("invalid_client");
    }
    expect(sim.counters.tokensIssued).toBe(0);
    expect(sim.counters.oauthFailures).toBe(4);
    expect(sim.counters.tokenRequests).toBe(4);
  });

  it("rejects a missing or unsupported grant with 400", async () => {
    sim = await startSimulator();
    const missing = await requestToken(sim, { body: "" });
    expect(missing.status).toBe(400);
    expect((missing.json as { error: string }).error).toBe("invalid_request");
    const other = await requestToken(sim, { body: "grant_type=password" });
    expect(other.status).toBe(400);
    expect((other.json as { error: string }).error).toBe("unsupported_grant_type");
    expect(sim.counters.tokensIssued).toBe(0);
  });

  it("tokens expire after their lifetime: REST answers 401 afterwards", async () => {
    sim = await startSimulator({ tokenLifetimeSec: 0.3 });
    const token = await getToken(sim);
    expect((await api(sim, token, "GET", "/channels")).status).toBe(200);
    await waitFor(() => sim.counters.tokensExpired === 1, 3000, "token expiry");
    const after = await api(sim, token, "GET", "/channels");
    expect(after.status).toBe(401);
    expect((after.json as { status: number }).status).toBe(401);
  });

  it("revokeToken works by token and by fingerprint; expireAllTokens kills every token", async () => {
    sim = await startSimulator();
    const a = await getToken(sim);
    const b = await getToken(sim);
    const c = await getToken(sim);
    expect(sim.faults.revokeToken(a)).toBe(true);
    expect(sim.faults.revokeToken(fingerprint(b))).toBe(true);
    expect(sim.faults.revokeToken("unknown")).toBe(false);
    expect((await api(sim, a, "GET", "/channels")).status).toBe(401);
    expect((await api(sim, b, "GET", "/channels")).status).toBe(401);
    expect((await api(sim, c, "GET", "/channels")).status).toBe(200);
    expect(sim.faults.expireAllTokens()).toBe(1);
    expect((await api(sim, c, "GET", "/channels")).status).toBe(401);
    expect(sim.counters.tokensRevoked).toBe(2);
    expect(sim.counters.tokensExpired).toBe(1);
  });
});

describe("OAuth faults", () => {
  it("429 carries Retry-After and Genesys' JSON body, for exactly n requests", async () => {
    sim = await startSimulator();
    sim.faults.oauth.next(2, { status: 429, retryAfterSec: 7 });
    expect(sim.faults.oauth.pending).toBe(2);
    for (let i = 0; i < 2; i++) {
      const res = await requestToken(sim);
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("7");
      expect(res.json).toMatchObject({ code: "too.many.requests.retry.after", status: 429 });
      expect(typeof (res.json as { message: unknown }).message).toBe("string");
    }
    expect((await requestToken(sim)).status).toBe(200);
    expect(sim.counters.tokenRequests).toBe(3);
    expect(sim.counters.oauthFailures).toBe(2);
    expect(sim.counters.tokensIssued).toBe(1);
  });

  it("500, 400/401 invalid_client, garbage and reset, queued in order", async () => {
    sim = await startSimulator();
    sim.faults.oauth.next(1, { status: 500 });
    sim.faults.oauth.next(1, { status: 400 });
    sim.faults.oauth.next(1, { status: 401 });
    sim.faults.oauth.next(1, { kind: "garbage" });
    sim.faults.oauth.next(1, { kind: "reset" });
    expect((await requestToken(sim)).status).toBe(500);
    const r400 = await requestToken(sim);
    expect(r400.status).toBe(400);
    expect((r400.json as { error: string }).error).toBe("invalid_client");
    const r401 = await requestToken(sim);
    expect(r401.status).toBe(401);
    expect((r401.json as { error: string }).error).toBe("invalid_client");
    const garbage = await requestToken(sim);
    expect(garbage.status).toBe(200);
    expect(() => JSON.parse(garbage.text)).toThrow();
    await expect(requestToken(sim)).rejects.toThrow();
    expect((await requestToken(sim)).status).toBe(200);
    expect(sim.counters.oauthFailures).toBe(5);
    expect(sim.counters.tokensIssued).toBe(1);
  });

  it("slow delays the response, then serves a real token", async () => {
    sim = await startSimulator();
    sim.faults.oauth.next(1, { kind: "slow", delayMs: 300 });
    const started = Date.now();
    const res = await requestToken(sim);
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(res.status).toBe(200);
    expect(sim.counters.tokensIssued).toBe(1);
  });

  it("clear() forgets queued faults", async () => {
    sim = await startSimulator();
    sim.faults.oauth.next(3, { status: 500 });
    sim.faults.oauth.clear();
    expect(sim.faults.oauth.pending).toBe(0);
    expect((await requestToken(sim)).status).toBe(200);
  });
});
