import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fingerprint } from "../../../shared/fingerprint.ts";
import { type Simulator, startSimulator } from "../../../sim/index.ts";
import { DirectTokenSource } from "../../../worker/token/direct-token-source.ts";
import { TokenSourceError } from "../../../worker/token/token-source.ts";

let sim: Simulator;

beforeEach(async () => {
  sim = await startSimulator({ host: "127.0.0.1", port: 0, tokenLifetimeSec: 60 });
});
afterEach(async () => {
  await sim.close();
});

const source = (over: Partial<ConstructorParameters<typeof DirectTokenSource>[0]> = {}) =>
  new DirectTokenSource({
    loginUrl: sim.loginUrl,
    clientId: "sim-client",
    clientSecret: "sim-secret",
    backoff: { baseMs: 10, capMs: 20 },
    ...over,
  });

describe("DirectTokenSource against the simulator's OAuth", () => {
  it("mints once for concurrent callers and caches until the refresh point", async () => {
    const src = source();
    const [a, b, c] = await Promise.all([src.current(), src.current(), src.current()]);
    expect(a.fingerprint).toBe(fingerprint(a.accessToken));
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(await src.current()).toBe(a);
    expect(sim.counters.tokensIssued).toBe(1);
    expect(a.expiresAtMs - Date.now()).toBeGreaterThan(50_000);
  });

  it("refresh(rejected) mints a new token; refresh of an older token returns the current one", async () => {
    const src = source();
    const first = await src.current();
    const second = await src.refresh(first.fingerprint);
    expect(second.fingerprint).not.toBe(first.fingerprint);
    const again = await src.refresh(first.fingerprint);
    expect(again).toBe(second);
    expect(sim.counters.tokensIssued).toBe(2);
  });

  it("waits out 429 Retry-After exactly and backs off over 5xx, garbage and resets", async () => {
    const slept: number[] = [];
    const src = source({ sleep: async (ms) => void slept.push(ms) });
    sim.faults.oauth.next(1, { status: 429, retryAfterSec: 2 });
    sim.faults.oauth.next(1, { status: 503 });
    sim.faults.oauth.next(1, { kind: "garbage" });
    sim.faults.oauth.next(1, { kind: "reset" });
    const token = await src.current();
    expect(token.accessToken.length).toBeGreaterThan(10);
    expect(slept).toHaveLength(4);
    expect(slept[0]).toBe(2_000); // no longer, no shorter
    expect(src.mints).toBe(5);
  });

  it("invalid_client is permanent: one request, typed error, no secret in it", async () => {
    const src = source({ clientSecret: "wrong-secret-value" });
    const err = await src.current().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenSourceError);
    expect(err).toMatchObject({ code: "idp_invalid_client", permanent: true, status: 401 });
    expect(String((err as Error).message)).not.toContain("wrong-secret-value");
    expect(src.mints).toBe(1);
  });

  it("a Retry-After longer than one mint should block ends the mint with it, for the supervisor to wait out", async () => {
    const slept: number[] = [];
    const src = source({ sleep: async (ms) => void slept.push(ms) });
    sim.faults.oauth.next(1, { status: 429, retryAfterSec: 120 });
    await expect(src.current()).rejects.toMatchObject({
      code: "idp_throttled",
      permanent: false,
      retryAfterMs: 120_000,
    });
    expect(slept).toEqual([]);
    expect(src.mints).toBe(1);
  });

  it("gives up with a transient error after maxAttempts", async () => {
    const src = source({ maxAttempts: 2, sleep: async () => {} });
    sim.faults.oauth.next(5, { status: 500 });
    await expect(src.current()).rejects.toMatchObject({ code: "idp_unavailable", permanent: false });
    expect(src.mints).toBe(2);
  });
});
