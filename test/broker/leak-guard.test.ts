import { describe, expect, it } from "vitest";
import { powertoolsLog } from "../../functions/broker/adapters/powertools.ts";
import { fakeBroker, LANE0, tokenLeaks } from "./support/fake-broker.ts";
import { LeakGuard } from "./support/leak-guard.ts";

describe("leak guard (the detector the integration files rely on)", () => {
  it("captures Powertools log lines and finds a token in them or in audit text", () => {
    const guard = new LeakGuard();
    guard.note("eyJhbGciOi.leaked-token-value");
    guard.capture();
    try {
      const log = powertoolsLog("leak-guard-test");
      log.info("fine", { fingerprint: "0123456789ab" });
      log.warn("oops", { detail: "eyJhbGciOi.leaked-token-value" });
    } finally {
      guard.stop();
    }
    expect(guard.lines.some((l) => l.includes('"fingerprint":"0123456789ab"'))).toBe(true);
    expect(guard.findLeaks()).toHaveLength(1);
    expect(
      guard.findLeaks([{ where: "audit 0", text: '{"detail":"x eyJhbGciOi.leaked-token-value"}' }]),
    ).toEqual([expect.stringContaining("output line"), "audit 0 contains an issued token"]);
  });

  it("finds nothing when only fingerprints were written", () => {
    const guard = new LeakGuard();
    guard.note("secret-token");
    guard.capture();
    powertoolsLog("leak-guard-test").info("ok", { fingerprint: "abcdefabcdef" });
    guard.stop();
    expect(guard.lines.length).toBeGreaterThan(0);
    expect(guard.findLeaks()).toEqual([]);
  });

  it("the unit-test scan (tokenLeaks) finds a token in a core log line or audit record", async () => {
    const f = fakeBroker();
    const got = await f.broker.tokens.obtain(LANE0, { kind: "handout" }, f.trail.forRequest("r", undefined));
    expect(tokenLeaks(f)).toEqual([]);
    f.log.warn("oops", { detail: got.stored.token.accessToken });
    await f.trail.write(
      {
        action: "failure",
        outcome: "error",
        profile: "prod",
        requestId: "r2",
        detail: "client-secret-value",
      },
      1,
    );
    expect(tokenLeaks(f)).toEqual([
      expect.stringContaining("log line"),
      expect.stringContaining("audit record"),
    ]);
  });
});
