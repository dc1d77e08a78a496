import { describe, expect, it } from "vitest";
import { TokenCache } from "../../../worker/token/token-cache.ts";
import type { WorkerToken } from "../../../worker/token/token-source.ts";

const tok = (n: number, expiresAtMs: number): WorkerToken => ({
  accessToken: `t${n}`,
  expiresAtMs,
  fingerprint: `fp${n}`,
});

describe("TokenCache", () => {
  it("serves a token until its refresh point, then not", () => {
    let now = 1_000;
    const cache = new TokenCache({ refreshFraction: 0.5, now: () => now });
    cache.store(tok(1, 11_000));
    now = 5_999;
    expect(cache.fresh()?.fingerprint).toBe("fp1");
    now = 6_000;
    expect(cache.fresh()).toBeUndefined();
    expect(cache.peek()?.fingerprint).toBe("fp1");
  });

  it("single-flights concurrent fetches", async () => {
    const cache = new TokenCache();
    let calls = 0;
    let release: (t: WorkerToken) => void = () => {};
    const fetch = () => {
      calls++;
      return new Promise<WorkerToken>((r) => {
        release = r;
      });
    };
    const a = cache.singleFlight(fetch);
    const b = cache.singleFlight(fetch);
    release(tok(2, Date.now() + 60_000));
    expect((await a).fingerprint).toBe("fp2");
    expect((await b).fingerprint).toBe("fp2");
    expect(calls).toBe(1);
    await cache.singleFlight(async () => tok(3, Date.now() + 60_000));
    expect(cache.peek()?.fingerprint).toBe("fp3");
  });

  it("a failed fetch does not poison the next one", async () => {
    const cache = new TokenCache();
    await expect(cache.singleFlight(() => Promise.reject(new Error("x")))).rejects.toThrow("x");
    expect((await cache.singleFlight(async () => tok(4, Date.now() + 1000))).fingerprint).toBe("fp4");
  });
});
