/** Defaults and validation of SimulatorOptions (bad input -> RangeError naming the option). */
import { CORRELATION_MODELS, type CorrelationModelName } from "./correlation.ts";
import { REPEAT_KINDS, type RepeatKind } from "./repeats.ts";
import type { ChannelLimitPolicy, SimulatedClient, SimulatorOptions } from "./types.ts";

export interface ResolvedOptions {
  host: string;
  port: number;
  clients: SimulatedClient[];
  tokenLifetimeSec: number;
  channelLifetimeMs: number;
  maxChannelsPerClient: number;
  maxTopicsPerChannel: number;
  channelLimitPolicy: ChannelLimitPolicy;
  heartbeatIntervalMs: number;
  socketClosingGraceMs: number;
  socketClosingEveryMs: number | undefined;
  randomDropEveryMs: number | undefined;
  genericCloseCode: 4001 | 1008;
  topics: string[];
  eventRatePerSec: number;
  generatorTickMs: number;
  correlationModel: CorrelationModelName;
  correlationGroupSize: number;
  identicalShare: number;
  identicalKinds: RepeatKind[];
  identicalDelayMinMs: number;
  identicalDelayMaxMs: number;
  subscriptionDelayMinMs: number;
  subscriptionDelayMaxMs: number;
  channelLagMaxMs: number;
  channelLagJitterMs: number;
  largeEventShare: number;
  largeEventSizes: number[];
  seed: number | undefined;
}

/** 300 KiB, 1.5 MiB and 5 MiB: under, over and far over SQS's 1 MiB message limit. */
export const LARGE_EVENT_SIZES = [300 * 1024, 1536 * 1024, 5 * 1024 * 1024] as const;

export const DEFAULT_CLIENT: SimulatedClient = { clientId: "sim-client", clientSecret: "sim-secret" };

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name} must be a finite number > 0, got ${v}`);
  return v;
}

function optionalPositive(name: string, value: number | undefined): number | undefined {
  return value === undefined ? undefined : positive(name, value, 0);
}

function count(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be an integer >= 1, got ${v}`);
  return v;
}

export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  const clients = options.clients ?? [DEFAULT_CLIENT];
  if (clients.length === 0) throw new RangeError("clients must not be empty");
  const ids = new Set<string>();
  for (const client of clients) {
    if (!client.clientId || !client.clientSecret)
      throw new RangeError("every client needs clientId and clientSecret");
    if (ids.has(client.clientId)) throw new RangeError(`duplicate clientId ${client.clientId}`);
    ids.add(client.clientId);
    if (client.tokenLifetimeSec !== undefined)
      positive("clients[].tokenLifetimeSec", client.tokenLifetimeSec, 0);
  }
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new RangeError(`port must be 0..65535, got ${port}`);
  const rate = options.eventRatePerSec ?? 0;
  if (!Number.isFinite(rate) || rate < 0) throw new RangeError(`eventRatePerSec must be >= 0, got ${rate}`);
  const closeCode = options.genericCloseCode ?? 4001;
  if (closeCode !== 4001 && closeCode !== 1008) throw new RangeError(`genericCloseCode must be 4001 or 1008`);
  const policy = options.channelLimitPolicy ?? "evictOldest";
  if (policy !== "reject" && policy !== "evictOldest")
    throw new RangeError(`unknown channelLimitPolicy ${policy}`);
  return {
    host: options.host ?? "127.0.0.1",
    port,
    clients,
    tokenLifetimeSec: positive("tokenLifetimeSec", options.tokenLifetimeSec, 86_400),
    channelLifetimeMs: positive("channelLifetimeMs", options.channelLifetimeMs, 24 * 3600 * 1000),
    maxChannelsPerClient: count("maxChannelsPerClient", options.maxChannelsPerClient, 20),
    maxTopicsPerChannel: count("maxTopicsPerChannel", options.maxTopicsPerChannel, 1000),
    channelLimitPolicy: policy,
    heartbeatIntervalMs: positive("heartbeatIntervalMs", options.heartbeatIntervalMs, 30_000),
    socketClosingGraceMs: positive("socketClosingGraceMs", options.socketClosingGraceMs, 60_000),
    socketClosingEveryMs: optionalPositive("socketClosingEveryMs", options.socketClosingEveryMs),
    randomDropEveryMs: optionalPositive("randomDropEveryMs", options.randomDropEveryMs),
    genericCloseCode: closeCode,
    topics: upstreamTopics(options.topics),
    eventRatePerSec: rate,
    generatorTickMs: positive("generatorTickMs", options.generatorTickMs, 50),
    ...eventShapeOptions(options),
    ...timingOptions(options),
    seed: options.seed,
  };
}

function upstreamTopics(topics: string[] | undefined): string[] {
  for (const topic of topics ?? []) {
    if (typeof topic !== "string" || topic.trim() === "")
      throw new RangeError("topics must be non-empty strings");
  }
  return [...new Set(topics ?? [])];
}

function share(name: string, value: number | undefined): number {
  const v = value ?? 0;
  if (!Number.isFinite(v) || v < 0 || v > 1) throw new RangeError(`${name} must be within 0..1, got ${v}`);
  return v;
}

function eventShapeOptions(options: SimulatorOptions) {
  const correlationModel = options.correlationModel ?? "unique";
  if (!CORRELATION_MODELS.includes(correlationModel))
    throw new RangeError(`correlationModel must be one of ${CORRELATION_MODELS.join(", ")}`);
  const identicalKinds = options.identicalKinds ?? [...REPEAT_KINDS];
  for (const kind of identicalKinds) {
    if (!REPEAT_KINDS.includes(kind))
      throw new RangeError(`identicalKinds: unknown kind ${kind} (${REPEAT_KINDS.join(", ")})`);
  }
  const identicalDelayMinMs = positive("identicalDelayMinMs", options.identicalDelayMinMs, 60_000);
  const identicalDelayMaxMs = positive("identicalDelayMaxMs", options.identicalDelayMaxMs, 360_000);
  if (identicalDelayMaxMs < identicalDelayMinMs)
    throw new RangeError("identicalDelayMaxMs must be >= identicalDelayMinMs");
  return {
    correlationModel,
    correlationGroupSize: count("correlationGroupSize", options.correlationGroupSize, 3),
    identicalShare: share("identicalShare", options.identicalShare),
    identicalKinds,
    identicalDelayMinMs,
    identicalDelayMaxMs,
  };
}

function nonNegative(name: string, value: number | undefined): number {
  const v = value ?? 0;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number >= 0, got ${v}`);
  return v;
}

function timingOptions(options: SimulatorOptions) {
  const subscriptionDelayMaxMs = nonNegative("subscriptionDelayMaxMs", options.subscriptionDelayMaxMs);
  const subscriptionDelayMinMs = nonNegative("subscriptionDelayMinMs", options.subscriptionDelayMinMs);
  if (subscriptionDelayMaxMs < subscriptionDelayMinMs)
    throw new RangeError("subscriptionDelayMaxMs must be >= subscriptionDelayMinMs");
  return {
    subscriptionDelayMinMs,
    subscriptionDelayMaxMs,
    channelLagMaxMs: nonNegative("channelLagMaxMs", options.channelLagMaxMs),
    channelLagJitterMs: nonNegative("channelLagJitterMs", options.channelLagJitterMs),
    largeEventShare: share("largeEventShare", options.largeEventShare),
    largeEventSizes: (options.largeEventSizes ?? [...LARGE_EVENT_SIZES]).map((size) =>
      count("largeEventSizes[]", size, 1),
    ),
  };
}
