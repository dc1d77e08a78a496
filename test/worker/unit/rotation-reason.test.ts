import { describe, expect, it } from "vitest";
import { genericStreamUrl } from "../../../worker/source/generic-session.ts";
import { shardTopics } from "../../../worker/source/genesys-session.ts";
import { planRotation } from "../../../worker/supervisor/rotation-reason.ts";

const input = {
  liveAtMs: 0,
  tokenIssuedAtMs: 0,
  tokenExpiresAtMs: 100_000,
  channelExpiresAtMs: undefined,
  sessionIndex: 0,
  redundancy: 2,
  refreshFraction: 0.75,
  jitterMs: 0,
  minLifeMs: 1_000,
};

describe("planRotation", () => {
  it("staggers redundant sessions on one token and asks for a new token", () => {
    const a = planRotation(input);
    const b = planRotation({ ...input, sessionIndex: 1 });
    expect(a.atMs).toBe(75_000);
    expect(b.atMs).toBeLessThan(a.atMs);
    expect(a.needsNewToken).toBe(true);
  });

  it("a channel expiring before the token drives a channel-only rotation", () => {
    const p = planRotation({ ...input, channelExpiresAtMs: 40_000 });
    expect(p.needsNewToken).toBe(false);
    expect(p.atMs).toBe(30_000);
  });

  it("never plans sooner than minLifeMs after going live (no rotation loop on a nearly expired token)", () => {
    const p = planRotation({ ...input, liveAtMs: 99_990 });
    expect(p.atMs).toBe(100_990);
  });
});

describe("planRotation with a drain period", () => {
  it("starts early enough that the old session drains before its token or channel ends", () => {
    // 100 s token, 40 s drain: latest start = 100 - 40 - 10 (a tenth of the life to build) = 50 s.
    expect(planRotation({ ...input, drainMs: 40_000 }).atMs).toBe(50_000);
    // A short drain leaves the usual 75 % plan alone.
    expect(planRotation({ ...input, drainMs: 5_000 }).atMs).toBe(75_000);
    // The channel's end counts as well.
    expect(planRotation({ ...input, channelExpiresAtMs: 40_000, drainMs: 20_000 }).atMs).toBe(16_000);
  });
});

describe("topic sharding and generic URLs", () => {
  it("splits topics into channels of at most N, de-duplicated", () => {
    const topics = Array.from({ length: 2_501 }, (_, i) => `t${i}`);
    const shards = shardTopics([...topics, "t0"], 1000);
    expect(shards.map((s) => s.length)).toEqual([1000, 1000, 501]);
    expect(new Set(shards.flat()).size).toBe(2_501);
  });

  it("adds topics and the token to a generic stream URL", () => {
    const u = new URL(genericStreamUrl("ws://127.0.0.1:1/stream", ["a", "b"], "tok"));
    expect(u.searchParams.get("topics")).toBe("a,b");
    expect(u.searchParams.get("access_token")).toBe("tok");
    const h = new URL(genericStreamUrl("ws://127.0.0.1:1/stream?topics=x", ["a"], undefined));
    expect(h.searchParams.get("topics")).toBe("x");
    expect(h.searchParams.has("access_token")).toBe(false);
  });
});
