/**
 * Token lanes (issue #10 item 4): each lane of a profile has its own token, its own single-flight lease, its own
 * audit records, and a scheduled rotation staggered against lane 0, so no two lanes rotate or expire together.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FunctionUrlResult } from "../../functions/broker/core/events.ts";
import type { ScheduledRefreshSummary } from "../../functions/broker/core/scheduled-refresh.ts";
import { tokenLane } from "../../functions/broker/core/token-lane.ts";
import type { BrokerErrorResponse, BrokerTokenResponse } from "../../shared/contracts.ts";
import { urlEvent } from "./support/events.ts";
import { fakeBroker, LANE0, LANE1, PROFILE, tokenLeaks } from "./support/fake-broker.ts";

const HOUR = 3_600_000;

type Fake = ReturnType<typeof fakeBroker>;
const call = async (f: Fake, event: unknown) => (await f.broker.handle(event)) as FunctionUrlResult;
const tokenOf = (r: FunctionUrlResult) => JSON.parse(r.body) as BrokerTokenResponse;
const getLane = (lane?: string) =>
  urlEvent("GET", "/token", { query: lane === undefined ? { profile: "prod" } : { profile: "prod", lane } });
const refreshLane = (rejectedFingerprint: string, lane?: unknown) =>
  urlEvent("POST", "/token/refresh", {
    body: JSON.stringify(
      lane === undefined
        ? { profile: "prod", rejectedFingerprint }
        : { profile: "prod", rejectedFingerprint, lane },
    ),
  });

describe("token lanes over the HTTP API", () => {
  let f: Fake;
  beforeEach(() => {
    f = fakeBroker();
  });
  afterEach(() => {
    expect(tokenLeaks(f)).toEqual([]);
  });

  it("lane 1 is a distinct token in its own secret; no lane is lane 0, exactly as before lanes", async () => {
    const zero = tokenOf(await call(f, getLane()));
    const one = tokenOf(await call(f, getLane("1")));
    const zeroAgain = tokenOf(await call(f, getLane("0")));
    expect(one.fingerprint).not.toBe(zero.fingerprint);
    expect(zeroAgain.fingerprint).toBe(zero.fingerprint);
    expect(f.idp.calls).toBe(2);
    expect((await f.store.getCurrent(LANE0))?.token.fingerprint).toBe(zero.fingerprint);
    expect((await f.store.getCurrent(LANE1))?.token.fingerprint).toBe(one.fingerprint);
    expect(LANE0.secretId).toBe(PROFILE.tokenSecretArn);
    expect(LANE1.secretId).not.toBe(PROFILE.tokenSecretArn);
    expect(f.audit.records.map((r) => `${r.action}:${r.lane}`)).toEqual([
      "mint:0",
      "handout:0",
      "mint:1",
      "handout:1",
      "handout:0",
    ]);
  });

  it("a compare-and-swap refresh of lane 1 replaces lane 1 only", async () => {
    const zero = tokenOf(await call(f, getLane()));
    const one = tokenOf(await call(f, getLane("1")));
    const swapped = tokenOf(await call(f, refreshLane(one.fingerprint, 1)));
    expect(swapped.fingerprint).not.toBe(one.fingerprint);
    expect(tokenOf(await call(f, getLane())).fingerprint).toBe(zero.fingerprint);
    expect(tokenOf(await call(f, getLane("1"))).fingerprint).toBe(swapped.fingerprint);
    // Lane 0's token reported as rejected on lane 1 is not lane 1's current token: no mint.
    expect(tokenOf(await call(f, refreshLane(zero.fingerprint, 1))).fingerprint).toBe(swapped.fingerprint);
    expect(f.idp.calls).toBe(3);
    expect(f.audit.records.filter((r) => r.action === "mint").map((r) => r.lane)).toEqual([0, 1, 1]);
  });

  it.each([
    ["GET lane past the last", getLane("2")],
    ["GET negative lane", getLane("-1")],
    ["GET non-numeric lane", getLane("one")],
    ["GET empty lane", getLane("")],
    ["GET lane with a leading zero", getLane("01")],
    ["GET fractional lane", getLane("1.5")],
    ["POST lane past the last", refreshLane("0123456789ab", 2)],
    ["POST lane as a string", refreshLane("0123456789ab", "1")],
    ["POST negative lane", refreshLane("0123456789ab", -1)],
    ["POST fractional lane", refreshLane("0123456789ab", 1.5)],
    ["POST null lane", refreshLane("0123456789ab", null)],
  ])("%s -> 400 bad_request, audited as a refusal, nothing minted", async (_name, event) => {
    const res = await call(f, event);
    expect(res.statusCode).toBe(400);
    const error = (JSON.parse(res.body) as BrokerErrorResponse).error;
    expect(error).toMatchObject({ code: "bad_request" });
    expect(error.message).toMatch(/^lane must be an integer from 0 to 1 for this profile/);
    expect(f.audit.records).toHaveLength(1);
    expect(f.audit.records[0]).toMatchObject({
      action: "refusal",
      outcome: "denied",
      errorCode: "bad_request",
    });
    expect(f.audit.records[0]?.lane).toBeUndefined();
    expect(f.audit.records[0]?.detail).toContain("lane must be an integer");
    expect(f.idp.calls).toBe(0);
  });

  it("the lane count is the profile's: a 4-lane profile serves lane 3", async () => {
    const g = fakeBroker(undefined, { ...PROFILE, lanes: 4 });
    expect((await call(g, getLane("3"))).statusCode).toBe(200);
    expect((await call(g, getLane("4"))).statusCode).toBe(400);
  });
});

describe("token lanes in the token service", () => {
  let f: Fake;
  let requests = 0;
  const audit = () => f.trail.forRequest(`r-${++requests}`, { callerArn: "arn:test" });
  beforeEach(() => {
    f = fakeBroker();
  });
  afterEach(() => {
    expect(tokenLeaks(f)).toEqual([]);
  });

  it("single flight per lane: 20 concurrent callers of each lane in two containers -> one mint per lane", async () => {
    const other = f.otherInstance();
    const results = await Promise.all(
      [LANE0, LANE1].flatMap((lane) =>
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? other : f.broker.tokens).obtain(lane, { kind: "handout" }, audit()),
        ),
      ),
    );
    expect(f.idp.calls).toBe(2);
    const byLane = [results.slice(0, 20), results.slice(20)].map(
      (group) => new Set(group.map((r) => r.stored.token.fingerprint)),
    );
    expect(byLane.map((s) => s.size)).toEqual([1, 1]);
    expect([...byLane[0]!][0]).not.toBe([...byLane[1]!][0]);
    expect(
      f.audit.records
        .filter((r) => r.action === "mint")
        .map((r) => r.lane)
        .sort(),
    ).toEqual([0, 1]);
  });

  it("lanes are independent: a failed lane 0 (lease cooling down) does not stop lane 1", async () => {
    f.leases.items.set(LANE0.key, {
      owner: "someone",
      leaseUntil: f.clock.now() + 10_000,
      failure: { code: "idp_unavailable", untilMs: f.clock.now() + 10_000 },
    });
    await expect(f.broker.tokens.obtain(LANE0, { kind: "handout" }, audit())).rejects.toMatchObject({
      code: "idp_unavailable",
    });
    const one = await f.broker.tokens.obtain(LANE1, { kind: "handout" }, audit());
    expect(one.source).toBe("minted");
    expect(f.idp.calls).toBe(1);
    expect(LANE0.key).toBe(PROFILE.name);
    expect(LANE1.key).toBe(`${PROFILE.name}#lane-1`);
  });

  it("lane secrets are named from the prefix when one is configured (lane 0 keeps its ARN)", () => {
    expect(tokenLane(PROFILE, 0, "tokenstream/S-1a2b3c4d")).toMatchObject({
      secretId: PROFILE.tokenSecretArn,
    });
    expect(tokenLane(PROFILE, 2, "tokenstream/S-1a2b3c4d")).toMatchObject({
      secretId: "tokenstream/S-1a2b3c4d/prod/lane-2",
      key: "prod#lane-2",
    });
  });
});

describe("staggered rotation (fake clock, scheduler every 5 minutes, 24 h tokens)", () => {
  it.each([2, 3])(
    "%i lanes: after the first rotation, no two lanes are issued or expire within P/(2 lanes) of each other",
    async (lanes) => {
      const f = fakeBroker(undefined, { ...PROFILE, lanes });
      f.idp.lifetimeSeconds = 24 * 3600;
      const periodMs = 0.75 * 24 * HOUR;
      const mints: { lane: number; at: number }[] = [];
      const start = f.clock.now();
      for (let t = 0; t <= 4 * 24 * HOUR; t += 5 * 60_000) {
        f.clock.t = start + t;
        const summary = (await f.broker.scheduledRefresh({
          awsRequestId: `s-${t}`,
        })) as ScheduledRefreshSummary;
        for (const o of summary.profiles)
          if (o.outcome === "rotated") mints.push({ lane: o.lane, at: f.clock.now() });
      }
      // Every lane was minted at the start; each later lane moved once to its stagger point, then kept its period.
      for (let lane = 0; lane < lanes; lane++) {
        const times = mints.filter((m) => m.lane === lane).map((m) => m.at - start);
        expect(times[0]).toBe(0);
        const gaps = times.slice(1).map((at, i) => at - times[i]!);
        const regular = lane === 0 ? gaps : gaps.slice(1);
        for (const gap of regular) expect(Math.abs(gap - periodMs)).toBeLessThanOrEqual(5 * 60_000);
        if (lane > 0) expect(Math.abs(gaps[0]! - (periodMs * lane) / lanes)).toBeLessThanOrEqual(5 * 60_000);
      }
      // Past the initial mint, issue times (and so expiries, all 24 h) of different lanes stay apart.
      const later = mints.filter((m) => m.at > start);
      for (const a of later) {
        for (const b of later) {
          if (a.lane !== b.lane) expect(Math.abs(a.at - b.at)).toBeGreaterThanOrEqual(periodMs / (2 * lanes));
        }
      }
      // No churn: about one mint per lane per period over 4 days, plus the stagger move.
      expect(mints.length).toBeLessThanOrEqual(lanes * (Math.ceil((4 * 24 * HOUR) / periodMs) + 2));
      expect(tokenLeaks(f)).toEqual([]);
    },
  );
});
