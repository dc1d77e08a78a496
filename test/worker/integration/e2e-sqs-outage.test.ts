import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../../support/wait-for.ts";
import { coverage, type Harness, runTraffic, settle, startHarness } from "./harness.ts";
import { type SwitchableProxy, startProxy } from "./tcp-proxy.ts";

let h: Harness | undefined;
let proxy: SwitchableProxy | undefined;
afterEach(async () => {
  proxy?.up();
  await h?.close();
  await proxy?.close();
  h = proxy = undefined;
});

describe("SQS unreachable mid-stream, then back", () => {
  it("loses nothing, keeps per-topic order, and /healthz reports the outage", async () => {
    h = await startHarness({
      redundancy: 2,
      sqsEndpoint: async (address) => {
        proxy = await startProxy(address);
        return proxy.url;
      },
    });
    const harness = h;
    const health = async () => (await fetch(`http://127.0.0.1:${harness.worker.healthPort}/healthz`)).status;
    let statusDuringOutage = 0;
    let depthDuringOutage = 0;
    await runTraffic(harness, {
      rate: 50,
      ms: 3_000,
      during: async () => {
        await waitFor(() => harness.events().length > 20, 5_000, "events flowing");
        expect(await health()).toBe(200);
        proxy?.down();
        await waitFor(() => !harness.worker.stats().sinkHealthy, 5_000, "the sink to notice the outage");
        await waitFor(() => harness.worker.stats().bufferDepth > 50, 5_000, "events to buffer");
        depthDuringOutage = harness.worker.stats().bufferDepth;
        statusDuringOutage = await health();
        await new Promise((r) => setTimeout(r, 800));
        proxy?.up();
      },
    });
    await settle(harness);
    expect(depthDuringOutage).toBeGreaterThan(50);
    expect(statusDuringOutage).toBe(503);
    const c = coverage(harness);
    expect(c.emitted).toBeGreaterThan(200);
    expect(c.missing).toEqual([]);
    expect(c.duplicates).toBe(0);
    expect(c.orderViolations).toBe(0);
    expect(harness.worker.stats().sinkHealthy).toBe(true);
    expect(await health()).toBe(200);
  });
});
