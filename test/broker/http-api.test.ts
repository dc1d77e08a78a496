import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IdpError } from "../../functions/broker/core/errors.ts";
import type { FunctionUrlResult } from "../../functions/broker/core/events.ts";
import {
  ScheduledRefreshError,
  type ScheduledRefreshSummary,
} from "../../functions/broker/core/scheduled-refresh.ts";
import type { BrokerErrorResponse, BrokerTokenResponse } from "../../shared/contracts.ts";
import { CALLER, getToken, refreshToken, urlEvent } from "./support/events.ts";
import { fakeBroker, tokenLeaks } from "./support/fake-broker.ts";

const HOUR = 3_600_000;

async function call(f: ReturnType<typeof fakeBroker>, event: unknown): Promise<FunctionUrlResult> {
  return (await f.broker.handle(event)) as FunctionUrlResult;
}
const errorOf = (r: FunctionUrlResult) => (JSON.parse(r.body) as BrokerErrorResponse).error;

describe("HTTP API (Function URL payload)", () => {
  let f: ReturnType<typeof fakeBroker>;
  beforeEach(() => {
    f = fakeBroker();
  });
  afterEach(() => {
    expect(tokenLeaks(f)).toEqual([]);
  });

  it("GET /token returns the token with no-store, and audits the hand-out with the caller", async () => {
    const res = await call(f, getToken("prod"));
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ "Cache-Control": "no-store", "Content-Type": "application/json" });
    const body = JSON.parse(res.body) as BrokerTokenResponse;
    expect(body.accessToken).toBe("token-1-secretvalue");
    expect(Object.keys(body).sort()).toEqual(["accessToken", "expiresAt", "fingerprint", "version"]);
    expect(f.audit.actions()).toEqual(["mint:success", "handout:success"]);
    expect(f.audit.records[1]).toMatchObject({
      callerArn: CALLER.userArn,
      callerAccount: CALLER.accountId,
      sourceIp: "203.0.113.7",
      fingerprint: body.fingerprint,
      secretVersion: body.version,
      expiresAt: body.expiresAt,
      detail: "get from minted",
    });
  });

  it("POST /token/refresh is a compare-and-swap (base64 body accepted)", async () => {
    const first = JSON.parse((await call(f, getToken("prod"))).body) as BrokerTokenResponse;
    const body = JSON.stringify({ profile: "prod", rejectedFingerprint: first.fingerprint });
    const swapped = await call(f, urlEvent("POST", "/token/refresh", { body, base64: true }));
    expect(swapped.statusCode).toBe(200);
    const next = JSON.parse(swapped.body) as BrokerTokenResponse;
    expect(next.fingerprint).not.toBe(first.fingerprint);
    const again = await call(f, refreshToken("prod", first.fingerprint));
    expect((JSON.parse(again.body) as BrokerTokenResponse).fingerprint).toBe(next.fingerprint);
    expect(f.idp.calls).toBe(2);
  });

  it.each([
    ["no IAM identity", getToken("prod", null), 401, "unauthenticated"],
    ["missing profile", urlEvent("GET", "/token"), 400, "bad_request"],
    ["unknown profile", getToken("nope"), 404, "unknown_profile"],
    ["wrong method", urlEvent("PUT", "/token", { query: { profile: "prod" } }), 405, "method_not_allowed"],
    ["unknown path", urlEvent("GET", "/secrets"), 404, "not_found"],
    ["non-JSON body", urlEvent("POST", "/token/refresh", { body: "{nope" }), 400, "bad_request"],
    ["bad fingerprint", refreshToken("prod", "XYZ"), 400, "bad_request"],
  ])("%s -> %i %s, audited as a refusal", async (_name, event, status, code) => {
    const res = await call(f, event);
    expect(res.statusCode).toBe(status);
    expect(res.headers["Cache-Control"]).toBe("no-store");
    expect(errorOf(res).code).toBe(code);
    expect(errorOf(res).requestId).toBe(event.requestContext?.requestId);
    expect(f.audit.records).toHaveLength(1);
    expect(f.audit.records[0]).toMatchObject({ action: "refusal", outcome: "denied", errorCode: code });
    expect(f.idp.calls).toBe(0);
  });

  it("an unauthenticated request is audited with its source IP and claimed profile, nothing else", async () => {
    await call(f, getToken("prod", null));
    expect(f.audit.records[0]).toMatchObject({ profile: "prod", sourceIp: "203.0.113.7" });
    expect(f.audit.records[0]?.callerArn).toBeUndefined();
  });

  it("answers 405 with an Allow header", async () => {
    const res = await call(f, urlEvent("GET", "/token/refresh"));
    expect(res.headers.Allow).toBe("POST");
  });

  it("identity-provider failure without a usable token -> 503 idp_unavailable, audited", async () => {
    f.idp.script.push(new IdpError("unavailable", "answered 500", 500));
    const res = await call(f, getToken("prod"));
    expect(res.statusCode).toBe(503);
    expect(errorOf(res).code).toBe("idp_unavailable");
    expect(f.audit.actions()).toEqual(["mint:error", "failure:error"]);
  });

  it("invalid_client -> 502 idp_invalid_client", async () => {
    f.idp.script.push(new IdpError("invalid_client", "refused with 401", 401));
    const res = await call(f, getToken("prod"));
    expect(res.statusCode).toBe(502);
    expect(errorOf(res).code).toBe("idp_invalid_client");
  });

  it("fails closed when the hand-out cannot be audited", async () => {
    await call(f, getToken("prod"));
    f.audit.failNext = 1;
    const res = await call(f, getToken("prod"));
    expect(res.statusCode).toBe(500);
    expect(errorOf(res).code).toBe("internal");
    expect(res.body).not.toContain("token-1-secretvalue");
    expect(f.metrics.get("AuditWriteFailures")).toBe(1);
  });

  it("an event that is neither a Function URL request nor the schedule is refused", async () => {
    const res = await call(f, { hello: "world" });
    expect(res.statusCode).toBe(401);
  });
});

describe("scheduled refresh", () => {
  it("rotates only lanes past their refresh point, lane 1 at its stagger point relative to lane 0", async () => {
    const f = fakeBroker();
    const run = (id: string) => f.broker.handle({ kind: "scheduled-refresh" }, { awsRequestId: id });
    const outcomes = (summary: unknown) =>
      (summary as ScheduledRefreshSummary).profiles.map((p) => `${p.profile}/${p.lane}:${p.outcome}`);
    expect(outcomes(await run("sched-1"))).toEqual(["prod/0:rotated", "prod/1:rotated"]);
    f.clock.advance(0.3 * HOUR);
    expect(outcomes(await run("sched-2"))).toEqual(["prod/0:fresh", "prod/1:fresh"]);
    // Lane 1's stagger point: half of lane 0's refresh interval (0.75 h) after lane 0 was issued.
    f.clock.advance(0.1 * HOUR);
    expect(outcomes(await run("sched-3"))).toEqual(["prod/0:fresh", "prod/1:rotated"]);
    f.clock.advance(0.36 * HOUR);
    expect(outcomes(await run("sched-4"))).toEqual(["prod/0:rotated", "prod/1:fresh"]);
    expect(f.idp.calls).toBe(4);
    expect(f.audit.records.map((r) => `${r.action}:${r.outcome}:${r.lane}`)).toEqual([
      "rotation:success:0",
      "rotation:success:1",
      "rotation:success:1",
      "rotation:success:0",
    ]);
    expect(f.audit.records[2]?.detail).toMatch(/^scheduled \(lane stagger\); replaces [0-9a-f]{12}$/);
    expect(f.audit.records[0]).toMatchObject({ requestId: "sched-1", callerArn: "scheduler" });
    expect(tokenLeaks(f)).toEqual([]);
  });

  it("throws after trying every lane when a rotation fails, so the scheduler retries; other lanes still rotate", async () => {
    const f = fakeBroker();
    f.idp.script.push(new IdpError("rate_limited", "rate limited (429)", 429));
    const error = await f.broker.handle({ kind: "scheduled-refresh" }, { awsRequestId: "s" }).catch((e) => e);
    expect(error).toBeInstanceOf(ScheduledRefreshError);
    expect((error as ScheduledRefreshError).message).toContain("prod lane 0 (idp_unavailable)");
    expect((error as ScheduledRefreshError).summary.profiles).toEqual([
      { profile: "prod", lane: 0, outcome: "failed", code: "idp_unavailable" },
      expect.objectContaining({ profile: "prod", lane: 1, outcome: "rotated" }),
    ]);
    expect(f.audit.actions()).toEqual(["rotation:error", "rotation:error", "rotation:success"]);
  });
});
