/** Parses `sim/main.ts` arguments into SimulatorOptions (bad input -> CliArgsError with a usage hint). */
import { parseArgs } from "node:util";
import type { SimulatedClient, SimulatorOptions } from "./types.ts";

export class CliArgsError extends Error {}

export const USAGE = `usage: npx tsx sim/main.ts [options]
  --host 127.0.0.1            --port 0
  --client id:secret          (repeatable; default sim-client:sim-secret)
  --token-lifetime SEC        --channel-lifetime-ms MS
  --heartbeat-ms MS           --rate EVENTS_PER_SEC_PER_TOPIC
  --socket-closing-every-ms MS  --socket-closing-grace-ms MS
  --random-drop-every-ms MS   --generic-close-code 4001|1008
  --max-channels N            --max-topics N
  --seed N                    --status-every-ms MS (default 5000, 0 = quiet)
  --topics a,b                (published whether or not anyone subscribes)
  --correlation unique|shared|absent|mixed   --identical-share 0..1
  --chaos-seed N              seeded chaos schedule of every fault kind
  --chaos-interval-ms MS      mean time between chaos faults (default 3000)`;

export interface CliConfig {
  options: SimulatorOptions;
  statusEveryMs: number;
}

function num(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === "" || !Number.isFinite(parsed))
    throw new CliArgsError(`--${name} needs a number, got "${value}"`);
  return parsed;
}

export function parseCliArgs(argv: string[]): CliConfig {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        host: { type: "string" },
        port: { type: "string" },
        client: { type: "string", multiple: true },
        "token-lifetime": { type: "string" },
        "channel-lifetime-ms": { type: "string" },
        "heartbeat-ms": { type: "string" },
        rate: { type: "string" },
        "socket-closing-every-ms": { type: "string" },
        "socket-closing-grace-ms": { type: "string" },
        "random-drop-every-ms": { type: "string" },
        "generic-close-code": { type: "string" },
        "max-channels": { type: "string" },
        "max-topics": { type: "string" },
        seed: { type: "string" },
        topics: { type: "string" },
        correlation: { type: "string" },
        "identical-share": { type: "string" },
        "chaos-seed": { type: "string" },
        "chaos-interval-ms": { type: "string" },
        "status-every-ms": { type: "string" },
        help: { type: "boolean" },
      },
    }));
  } catch (error) {
    throw new CliArgsError((error as Error).message);
  }
  if (values.help) throw new CliArgsError("help requested");
  const s = (name: string) => values[name] as string | undefined;
  const clients: SimulatedClient[] | undefined = (values.client as string[] | undefined)?.map((pair) => {
    const colon = pair.indexOf(":");
    if (colon <= 0 || colon === pair.length - 1) throw new CliArgsError(`--client needs id:secret`);
    return { clientId: pair.slice(0, colon), clientSecret: pair.slice(colon + 1) };
  });
  const closeCode = num("generic-close-code", s("generic-close-code"));
  if (closeCode !== undefined && closeCode !== 4001 && closeCode !== 1008) {
    throw new CliArgsError("--generic-close-code must be 4001 or 1008");
  }
  const options: SimulatorOptions = {
    host: s("host"),
    port: num("port", s("port")),
    clients,
    tokenLifetimeSec: num("token-lifetime", s("token-lifetime")),
    channelLifetimeMs: num("channel-lifetime-ms", s("channel-lifetime-ms")),
    heartbeatIntervalMs: num("heartbeat-ms", s("heartbeat-ms")),
    eventRatePerSec: num("rate", s("rate")),
    socketClosingEveryMs: num("socket-closing-every-ms", s("socket-closing-every-ms")),
    socketClosingGraceMs: num("socket-closing-grace-ms", s("socket-closing-grace-ms")),
    randomDropEveryMs: num("random-drop-every-ms", s("random-drop-every-ms")),
    genericCloseCode: closeCode as 4001 | 1008 | undefined,
    maxChannelsPerClient: num("max-channels", s("max-channels")),
    maxTopicsPerChannel: num("max-topics", s("max-topics")),
    seed: num("seed", s("seed")),
    topics: s("topics")
      ?.split(",")
      .map((topic) => topic.trim())
      .filter((topic) => topic !== ""),
    correlationModel: s("correlation") as SimulatorOptions["correlationModel"],
    identicalShare: num("identical-share", s("identical-share")),
  };
  const chaosSeed = num("chaos-seed", s("chaos-seed"));
  const chaosInterval = num("chaos-interval-ms", s("chaos-interval-ms"));
  if (chaosInterval !== undefined && chaosSeed === undefined)
    throw new CliArgsError("--chaos-interval-ms needs --chaos-seed");
  if (chaosSeed !== undefined) {
    if (!Number.isInteger(chaosSeed)) throw new CliArgsError("--chaos-seed needs an integer");
    options.chaos = {
      seed: chaosSeed,
      ...(chaosInterval === undefined ? {} : { meanIntervalMs: chaosInterval }),
    };
  }
  for (const key of Object.keys(options) as (keyof SimulatorOptions)[]) {
    if (options[key] === undefined) delete options[key];
  }
  return { options, statusEveryMs: num("status-every-ms", s("status-every-ms")) ?? 5000 };
}
