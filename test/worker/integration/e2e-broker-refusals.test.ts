/**
 * Transient broker 403s end to end: the worker's BrokerTokenSource against the real broker core (local HTTP
 * adapter, dynalite) through an HTTP proxy that answers the Function URL's 403 for one token lane, the
 * simulator upstream and fauxqs. Each refusal is retried with back-off and alarmed; the slot goes live once
 * the broker answers again, and stops for good only after MAX_CONSECUTIVE_TOKEN_REFUSALS in a row.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { LocalBroker } from "../../../functions/broker/local-server.ts";
import type { Simulator } from "../../../sim/index.ts";
import type { DynaliteServer } from "../../../tools/local/dynalite-server.ts";
import { BrokerTokenSource } from "../../../worker/token/broker-token-source.ts";
import { waitFor } from "../../support/wait-for.ts";
import { startBrokerOnDynalite } from "./broker-on-dynalite.ts";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
import { type Harness, startHarness, TEST_CREDENTIALS } from "./harness.ts";
import { observed, withCode } from "./observed-worker.ts";

let h: Harness | undefined;
let proxy: FaultProxy | undefined;
let broker: LocalBroker | undefined;
let dynalite: DynaliteServer | undefined;
afterEach(async () => {
  await h?.close();
  await proxy?.close();
  await broker?.close();
  await dynalite?.stop();
  h = proxy = broker = dynalite = undefined;
});

/** What a Lambda Function URL answers a request whose SigV4 date is too far off (clock skew). */
const SIGNATURE_EXPIRED = {
  status: 403,
  body: { message: "Signature expired: 20261205T080000Z is now earlier than 20261205T080500Z" },
};

/** The worker with its broker token source behind a proxy that refuses lane 0's n-th GET if `refuseLane0(n)`. */
async function start(refuseLane0: (attempt: number) => boolean) {
  let lane0Gets = 0;
  // The broker needs the harness's simulator, and the harness wants a token source before it starts the
  // worker: the broker and its proxy start on the first token request.
  let source: Promise<BrokerTokenSource> | undefined;
  const brokerSource = (sim: Simulator) =>
    (source ??= (async () => {
      ({ broker, dynalite } = await startBrokerOnDynalite(sim));
      proxy = await startFaultProxy(broker.url, (req) => {
        const lane = new URL(req.url ?? "/", "http://x").searchParams.get("lane");
        if (req.method !== "GET" || lane !== null) return undefined;
        lane0Gets++;
        return refuseLane0(lane0Gets) ? SIGNATURE_EXPIRED : undefined;
      });
      return new BrokerTokenSource({
        brokerUrl: proxy.url,
        profile: "main",
        region: "us-east-1",
        credentials: TEST_CREDENTIALS,
      });
    })());
  const o = observed({
    redundancy: 2,
    wrapTokens: (_direct, sim) => ({
      current: async (lane) => (await brokerSource(sim)).current(lane),
      refresh: async (fp, lane) => (await brokerSource(sim)).refresh(fp, lane),
    }),
  });
  h = await startHarness(o.options);
  return { h, o, lane0Gets: () => lane0Gets };
}

describe("the broker answers 403 for a while (clock skew, a deploy)", () => {
  it("each refusal is retried with back-off and alarmed; the slot goes live once the broker answers", async () => {
    const { h: fresh, o, lane0Gets } = await start((n) => n <= 3);
    await waitFor(() => fresh.worker.stats().liveSessions === 2, 10_000, "both slots live");
    expect(lane0Gets()).toBe(4);
    const refusals = withCode(o.lines, "token_refused");
    expect(refusals.map((l) => l.extra.consecutive)).toEqual([1, 2, 3]);
    expect(refusals[0]!.extra).toMatchObject({
      alarm: true,
      slot: "s0",
      status: 403,
      tokenError: "http_403",
    });
    expect(o.alarms).toEqual(["TokenRefusals", "TokenRefusals", "TokenRefusals"]);
    expect(fresh.worker.stats().stoppedSlots).toBe(0);
  });

  it("refused every time, the slot stops after 5 in a row (counted at the proxy); the other slot keeps running", async () => {
    const { h: fresh, o, lane0Gets } = await start(() => true);
    await waitFor(() => fresh.worker.stats().stoppedSlots === 1, 10_000, "one slot stopped");
    await waitFor(() => fresh.worker.stats().liveSessions === 1, 5_000, "the other live");
    await new Promise((r) => setTimeout(r, 500));
    expect(lane0Gets()).toBe(5);
    expect(withCode(o.lines, "session_stopped")[0]!.extra).toMatchObject({
      slot: "s0",
      status: 403,
      consecutive: 5,
      reason: "token source: http_403 (5 in a row)",
    });
    expect(o.alarms).toEqual([...Array(5).fill("TokenRefusals"), "SessionsStopped"]);
  });
});
