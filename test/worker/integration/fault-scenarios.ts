/**
 * Upstream faults injected mid-stream. With redundancy 2 nothing may be lost; with redundancy 1 every
 * lost event must lie inside a recorded gap, and the gap message must be in the queue.
 */
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { Simulator } from "../../../sim/index.ts";
import { DirectTokenSource } from "../../../worker/token/direct-token-source.ts";
import type { TokenSource, WorkerToken } from "../../../worker/token/token-source.ts";
import { waitFor } from "../../support/wait-for.ts";
import {
  coverage,
  type Harness,
  type HarnessOptions,
  lossEqualsGaps,
  runTraffic,
  settle,
  startHarness,
} from "./harness.ts";

/** Hands out already-revoked tokens for the next `n` calls once armed: every upgrade with one gets HTTP 401. */
class StaleTokens implements TokenSource {
  stale = 0;
  readonly #minter: DirectTokenSource;
  constructor(
    private readonly inner: TokenSource,
    private readonly sim: Simulator,
  ) {
    this.#minter = new DirectTokenSource({
      loginUrl: sim.loginUrl,
      clientId: "sim-client",
      clientSecret: "sim-secret",
    });
  }
  current(): Promise<WorkerToken> {
    return this.stale > 0 ? this.#staleToken() : this.inner.current();
  }
  refresh(fp: string): Promise<WorkerToken> {
    return this.stale > 0 ? this.#staleToken() : this.inner.refresh(fp);
  }
  async #staleToken(): Promise<WorkerToken> {
    this.stale--;
    const t = await this.#minter.refresh("force-a-new-one");
    this.sim.faults.revokeToken(t.accessToken);
    return t;
  }
}

interface Scenario {
  name: string;
  source?: "genesys" | "generic";
  harness?: Partial<HarnessOptions>;
  inject(h: Harness, extra: { stale?: StaleTokens; sockets: WebSocket[] }): void | Promise<void>;
  /** Evidence the fault really happened. */
  check(h: Harness): void;
  /** A socket other than the worker's reads from its channel. */
  foreignSockets?: boolean;
}

const failuresAtLeast = (n: number) => (h: Harness) =>
  expect(h.worker.stats().sessionFailures).toBeGreaterThanOrEqual(n);

export const SCENARIOS: Scenario[] = [
  {
    name: "abrupt drop of one socket",
    inject: (h) => void h.sim.faults.dropSocket("random"),
    check: (h) => {
      expect(h.sim.counters.drops).toBe(1);
      failuresAtLeast(1)(h);
    },
  },
  {
    name: "half-open socket (watchdog)",
    inject: (h) => void h.sim.faults.halfOpen("random"),
    check: (h) => expect(h.sim.counters.halfOpens).toBe(1),
  },
  {
    name: '{"result":"404"} frame on a killed channel',
    inject: (h) => {
      const channelId = h.sim.openSockets().find((s) => s.channelId)?.channelId ?? "";
      expect(h.sim.faults.killChannel(channelId)).toBe(true);
    },
    check: (h) => expect(h.sim.counters.notFoundFramesSent).toBeGreaterThanOrEqual(1),
  },
  {
    name: "second socket on the channel kicks the worker's",
    foreignSockets: true,
    inject: (h, { sockets }) => {
      const channelId = h.sim.openSockets().find((s) => s.channelId)?.channelId ?? "";
      const port = new URL(h.sim.apiUrl).port;
      const intruder = new WebSocket(`ws://127.0.0.1:${port}/channels/${channelId}`);
      intruder.on("error", () => {});
      sockets.push(intruder);
    },
    check: (h) => {
      expect(h.sim.counters.socketsKicked).toBeGreaterThanOrEqual(1);
      failuresAtLeast(1)(h);
    },
  },
  {
    name: "401 upgrade storm (generic stream)",
    source: "generic",
    harness: { wrapTokens: (inner, sim) => new StaleTokens(inner, sim) },
    inject: (h, { stale }) => {
      if (!stale) throw new Error("StaleTokens missing");
      stale.stale = 4;
      h.sim.faults.dropSocket("random");
    },
    check: (h) => {
      expect(h.sim.counters.upgradesRejected).toBeGreaterThanOrEqual(4);
      expect(h.worker.stats().tokenRefreshes).toBeGreaterThanOrEqual(3);
    },
  },
  {
    name: "429 with Retry-After on channel create",
    inject: (h) => {
      h.sim.faults.channelCreate.next(1, { status: 429, retryAfterSec: 1 });
      h.sim.faults.dropSocket("random");
    },
    check: (h) => expect(h.sim.faults.channelCreate.pending).toBe(0),
  },
];

export function defineFaultSuite(redundancy: 1 | 2): void {
  let h: Harness | undefined;
  const sockets: WebSocket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.terminate();
    await h?.close();
    h = undefined;
  });

  describe(`upstream faults, redundancy ${redundancy}`, () => {
    for (const sc of SCENARIOS) {
      it(sc.name, async () => {
        h = await startHarness({ redundancy, source: sc.source, ...sc.harness });
        const harness = h;
        const stale = harness.tokens instanceof StaleTokens ? harness.tokens : undefined;
        await runTraffic(harness, {
          rate: 40,
          ms: 2_200,
          minEmitted: 101,
          during: async () => {
            await new Promise((r) => setTimeout(r, 400));
            const before = harness.worker.stats().sessionsStarted;
            await sc.inject(harness, { stale, sockets });
            await waitFor(
              () =>
                harness.worker.stats().sessionsStarted > before &&
                harness.worker.stats().liveSessions >= redundancy,
              8_000,
              "the session to be replaced",
            );
          },
        });
        await settle(harness);
        sc.check(harness);
        const c = coverage(harness);
        expect(c.emitted).toBeGreaterThan(100);
        expect(c.duplicates).toBe(0);
        expect(c.orderViolations).toBe(0);
        if (redundancy === 2) {
          expect(c.missing).toEqual([]);
          expect(harness.gaps()).toEqual([]);
        } else {
          const gaps = harness.gaps();
          expect(gaps.length).toBeGreaterThanOrEqual(1);
          expect(gaps[0]?.topics).toEqual(harness.config.topics);
          expect(harness.worker.stats().gaps).toBe(gaps.length);
          const gapMs = gaps.reduce((sum, g) => sum + (Date.parse(g.end) - Date.parse(g.start)), 0);
          expect(Math.abs(harness.worker.stats().gapMs - gapMs)).toBeLessThanOrEqual(gaps.length);
          for (const g of gaps) expect(g).toMatchObject({ kind: "gap", topicName: "tokenstream.gap" });
          expect(lossEqualsGaps(harness, c, gaps, { foreignSockets: sc.foreignSockets })).toEqual([]);
        }
      });
    }
  });
}
