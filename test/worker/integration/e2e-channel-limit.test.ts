/**
 * The channel limit (issue 10, "upstream errors"): another consumer of the same OAuth client holds the
 * remaining channels, so the worker's next channel create is answered 400 `notification.channel.limit`
 * with Genesys' error body. The worker's log line (as written, JSON on stdout/stderr) carries Genesys' code
 * and message, and no token anywhere in the log.
 */
import { afterEach, expect, it } from "vitest";
import { createWorkerTelemetry } from "../../../worker/telemetry.ts";
import type { TokenSource, WorkerToken } from "../../../worker/token/token-source.ts";
import { waitFor } from "../../support/wait-for.ts";
import { type Harness, startHarness } from "./harness.ts";

let h: Harness | undefined;
let restoreStdio: (() => void) | undefined;
afterEach(async () => {
  restoreStdio?.();
  await h?.close();
  h = undefined;
  restoreStdio = undefined;
});

/** Everything written to stdout and stderr until restored (nothing reaches the terminal meanwhile). */
function captureStdio(): { text: () => string; restore: () => void } {
  const chunks: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write);
  for (const s of streams) {
    s.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
      const done = rest.find((r) => typeof r === "function") as (() => void) | undefined;
      done?.();
      return true;
    }) as typeof s.write;
  }
  return {
    text: () => chunks.join(""),
    restore: () => {
      for (const [i, s] of streams.entries()) s.write = originals[i]!;
    },
  };
}

/** Records every token the worker is handed, to look for them in the log. */
function recordTokens(inner: TokenSource, seen: Set<string>): TokenSource {
  const note = (t: WorkerToken): WorkerToken => {
    seen.add(t.accessToken);
    return t;
  };
  return {
    current: async (lane) => note(await inner.current(lane)),
    refresh: async (fp, lane) => note(await inner.refresh(fp, lane)),
  };
}

it("a 400 at the channel limit is logged with Genesys' code and message, never with a token", async () => {
  const tokens = new Set<string>();
  const stdio = captureStdio();
  restoreStdio = stdio.restore;
  h = await startHarness({
    redundancy: 1,
    sim: { maxChannelsPerClient: 2, channelLimitPolicy: "reject" },
    wrapTokens: (inner) => recordTokens(inner, tokens),
    // The real Powertools logger at INFO, so the lines are what CloudWatch would get.
    deps: { telemetry: createWorkerTelemetry({ logLevel: "INFO" }) },
  });
  const harness = h;
  await waitFor(() => harness.worker.stats().liveSessions === 1, 5_000, "the session live");
  // Another consumer of the client takes the last channel and keeps it connected.
  expect(harness.sim.faults.secondConsumer(undefined, 1)).toBe(0);
  const before = harness.sim.counters.channelCreateRejected;
  harness.sim.faults.sendSocketClosing("all"); // the worker needs a new channel now
  await waitFor(
    () => harness.sim.counters.channelCreateRejected > before,
    5_000,
    "the channel create refused",
  );
  // The refusal is logged once the worker has read the answer (socket_closing was a session failure too).
  await waitFor(() => stdio.text().includes('"upstreamCode"'), 5_000, "the refusal logged");
  await harness.close(); // flushes what the worker still had to say
  stdio.restore();

  const lines = stdio
    .text()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const failure = lines.find((l) => l.message === "session failure" && l.upstreamCode !== undefined);
  expect(failure, JSON.stringify(lines.map((l) => l.message))).toMatchObject({
    level: "ERROR",
    failure: "rest-error",
    detail: 400,
    upstreamCode: "notification.channel.limit",
    upstreamMessage: expect.stringContaining("maximum number of notification channels"),
    alarm: true,
  });
  // The log did name the tokens, by fingerprint only.
  expect(lines.some((l) => typeof l.tokenFingerprint === "string")).toBe(true);
  expect(tokens.size).toBeGreaterThan(0);
  for (const token of tokens) expect(stdio.text().includes(token), "a token in the log").toBe(false);
});
