import { parseArgs } from "node:util";
import type { RunLocalOptions } from "./run-local.ts";

/** Same rule as the worker's GENESYS_ENV check, applied before anything starts. */
const GENESYS_DOMAIN = /^[a-z0-9.-]+\.[a-z]{2,}$/i;

/**
 * `npm start` flags and environment into run options; undefined for --help. Throws an Error whose message is
 * meant for the user (bad flag, incomplete real-org settings); the client secret is read from the environment only.
 */
export function parseLocalArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): RunLocalOptions | undefined {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      duration: { type: "string" },
      redundancy: { type: "string" },
      rate: { type: "string" },
      "token-lifetime": { type: "string" },
      topics: { type: "string" },
      "genesys-env": { type: "string" },
      "client-id": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return undefined;
  const options: RunLocalOptions = {};
  const number = (flag: string, value: string | undefined, min: number): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${flag} must be a number >= ${min}`);
    return n;
  };
  const duration = number("duration", values.duration, 1);
  if (duration !== undefined) options.durationMs = duration * 1000;
  const redundancy = number("redundancy", values.redundancy, 1);
  if (redundancy !== undefined) options.redundancy = Math.floor(redundancy);
  const rate = number("rate", values.rate, 0);
  if (rate !== undefined) options.eventRatePerTopic = rate;
  const lifetime = number("token-lifetime", values["token-lifetime"], 2);
  if (lifetime !== undefined) options.tokenLifetimeSec = lifetime;
  const topics = (values.topics ?? env.TOPICS)
    ?.split(",")
    .map((topic) => topic.trim())
    .filter(Boolean);
  if (topics && topics.length > 0) options.topics = topics;

  const genesysEnv = values["genesys-env"] ?? env.GENESYS_ENV;
  if (!genesysEnv && values["client-id"] !== undefined) {
    throw new Error("--client-id only applies with --genesys-env (or GENESYS_ENV)");
  }
  if (genesysEnv && !GENESYS_DOMAIN.test(genesysEnv)) {
    throw new Error(`GENESYS_ENV / --genesys-env "${genesysEnv}" is not a domain such as mypurecloud.ie`);
  }
  if (genesysEnv) {
    const clientId = values["client-id"] ?? env.GENESYS_CLIENT_ID;
    const clientSecret = env.GENESYS_CLIENT_SECRET;
    if (!clientId || !clientSecret) {
      throw new Error("a real org needs GENESYS_CLIENT_ID (or --client-id) and GENESYS_CLIENT_SECRET");
    }
    if (!topics || topics.length === 0) throw new Error("a real org needs --topics (or TOPICS)");
    options.real = { genesysEnv, clientId, clientSecret, topics };
  }
  return options;
}
