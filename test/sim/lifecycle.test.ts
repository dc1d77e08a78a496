import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { parseCliArgs } from "../../sim/cli-args.ts";
import { startSimulator } from "../../sim/index.ts";
import { createChannel, getToken, subscribe, TestSocket, waitFor } from "./helpers.ts";

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("lifecycle", () => {
  it("close() is idempotent, closes sockets and leaves no timers or listeners behind", async () => {
    const baseline = timeouts();
    const sim = await startSimulator({
      eventRatePerSec: 50,
      heartbeatIntervalMs: 20,
      socketClosingEveryMs: 10_000,
      randomDropEveryMs: 10_000,
      tokenLifetimeSec: 100,
    });
    const token = await getToken(sim);
    const channel = await createChannel(sim, token);
    await subscribe(sim, token, channel.id, ["t"]);
    const socket = await TestSocket.open(channel.connectUri);
    const generic = await TestSocket.open(`${sim.genericStreamUrl}?topics=t&access_token=${token}`);
    sim.faults.oauth.next(1, { kind: "slow", delayMs: 60_000 });
    const slow = fetch(`${sim.loginUrl}/oauth/token`, { method: "POST" }).catch(() => "aborted");
    await waitFor(() => socket.events.length > 0, 3000, "events flowing");
    expect(timeouts()).toBeGreaterThan(baseline);
    await Promise.all([sim.close(), sim.close()]);
    await sim.close();
    await slow;
    await waitFor(() => socket.closed && generic.closed, 3000, "sockets closed by shutdown");
    await waitFor(() => timeouts() <= baseline, 3000, "timers cleared");
    await expect(fetch(`${sim.loginUrl}/oauth/token`, { method: "POST" })).rejects.toThrow();
  });

  it("rejects bad options with a RangeError naming the option", async () => {
    await expect(startSimulator({ tokenLifetimeSec: 0 })).rejects.toThrow(/tokenLifetimeSec/);
    await expect(startSimulator({ heartbeatIntervalMs: -1 })).rejects.toThrow(RangeError);
    await expect(startSimulator({ clients: [] })).rejects.toThrow(/clients/);
    await expect(startSimulator({ maxChannelsPerClient: 1.5 })).rejects.toThrow(/maxChannelsPerClient/);
    await expect(startSimulator({ genericCloseCode: 1000 as 4001 })).rejects.toThrow(/genericCloseCode/);
  });

  it("parses CLI arguments", () => {
    const config = parseCliArgs([
      "--port",
      "8080",
      "--token-lifetime",
      "60",
      "--heartbeat-ms",
      "5000",
      "--rate",
      "10",
      "--client",
      "a:b:c",
      "--generic-close-code",
      "1008",
    ]);
    expect(config.options).toEqual({
      port: 8080,
      tokenLifetimeSec: 60,
      heartbeatIntervalMs: 5000,
      eventRatePerSec: 10,
      clients: [{ clientId: "a", clientSecret: "b:c" }],
      genericCloseCode: 1008,
    });
    expect(config.statusEveryMs).toBe(5000);
    expect(() => parseCliArgs(["--port", "x"])).toThrow(/--port/);
    expect(() => parseCliArgs(["--bogus"])).toThrow();
    expect(() => parseCliArgs(["--client", "nosecret"])).toThrow(/id:secret/);
  });

  it("parses the upstream-truth, event-shape and chaos flags", () => {
    const { options } = parseCliArgs([
      "--topics",
      "v2.a, v2.b",
      "--correlation",
      "mixed",
      "--identical-share",
      "0.1",
      "--chaos-seed",
      "42",
      "--chaos-interval-ms",
      "500",
    ]);
    expect(options).toEqual({
      topics: ["v2.a", "v2.b"],
      correlationModel: "mixed",
      identicalShare: 0.1,
      chaos: { seed: 42, meanIntervalMs: 500 },
    });
    expect(() => parseCliArgs(["--chaos-interval-ms", "5"])).toThrow(/--chaos-seed/);
    expect(() => parseCliArgs(["--chaos-seed", "1.5"])).toThrow(/integer/);
  });

  it("CLI prints the URLs and status lines and exits 0 on SIGINT", async () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "sim/main.ts",
        "--status-every-ms",
        "100",
        "--rate",
        "5",
        "--chaos-seed",
        "3",
        "--chaos-interval-ms",
        "600000",
      ],
      {
        cwd: new URL("../..", import.meta.url).pathname,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      err += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      await waitFor(() => /tokens \d+/.test(out), 15_000, `status line (stderr: ${err})`);
      const match = /login \(OAuth\):\s+(http:\/\/127\.0\.0\.1:\d+)\/oauth\/token/.exec(out);
      expect(match).not.toBeNull();
      const res = await fetch(`${match![1]}/oauth/token`, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from("sim-client:sim-secret").toString("base64")}`,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: "grant_type=client_credentials",
      });
      expect(res.status).toBe(200);
      await waitFor(() => /tokens 1\/1 req/.test(out), 5000, "status shows the token");
      child.kill("SIGINT");
      expect(await exited).toBe(0);
      expect(out).toContain("final: tokens 1/1 req");
      expect(out).toMatch(/chaos seed 3: /);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
