import { Template } from "aws-cdk-lib/assertions";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { composeBroker } from "../../functions/broker/composition.ts";
import { loadBrokerConfig } from "../../functions/broker/config.ts";
import { addTokenstream } from "../../lib/tokenstream-app.ts";
import { loadWorkerConfig } from "../../worker/config.ts";
import { createAlarmMetric, isAlarmMetric } from "../../worker/supervisor/alarm-metric.ts";
import { createWorkerTelemetry, type GaugeName } from "../../worker/telemetry.ts";
import { testApp, testConfig } from "./helpers.ts";

/**
 * The alarms and the dashboard must look at the exact (namespace, name, dimension set) the runtime code
 * publishes, or an alarm silently never sees data. This test runs the real Powertools emitters of the
 * broker and the worker, configured from the environment the synthesized template gives them, captures
 * the EMF they print, and compares.
 */

type Json = Record<string, unknown>;
interface MetricIdentity {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
}

function key(m: MetricIdentity): string {
  const dims = Object.entries(m.dimensions)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
  return `${m.namespace}|${m.name}|${dims}`;
}

/** Runs `emit` and returns every metric identity in the EMF records it printed on stdout. */
function capturedEmf(emit: () => void): MetricIdentity[] {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: unknown) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    emit();
  } finally {
    spy.mockRestore();
  }
  return lines
    .flatMap((chunk) => chunk.split("\n"))
    .filter((line) => line.includes('"_aws"'))
    .flatMap((line) => {
      const record = JSON.parse(line) as Json & {
        _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Json[] }> };
      };
      return record._aws.CloudWatchMetrics.flatMap((d) =>
        d.Dimensions.flatMap((set) =>
          d.Metrics.map((m) => ({
            namespace: d.Namespace,
            name: m.Name as string,
            dimensions: Object.fromEntries(set.map((k) => [k, String(record[k])])),
          })),
        ),
      );
    });
}

interface Synth {
  template: Template;
  alarms: MetricIdentity[];
  dashboard: MetricIdentity[];
  brokerEnv: Record<string, string>;
  workerEnv: Record<string, string>;
}

function synth(overrides: Record<string, unknown> = {}): Synth {
  const app = testApp();
  const stack = addTokenstream(app, testConfig(overrides), { nag: false });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
  const ofType = (type: string) => Object.values(resources).filter((r) => r.Type === type);
  const alarms = ofType("AWS::CloudWatch::Alarm")
    .map((a) => a.Properties)
    .filter((a) => a.Namespace === "tokenstream")
    .map((a) => ({
      namespace: a.Namespace as string,
      name: a.MetricName as string,
      dimensions: Object.fromEntries(
        (a.Dimensions as Array<{ Name: string; Value: string }>).map((d) => [d.Name, d.Value]),
      ),
    }));
  const body = JSON.stringify(ofType("AWS::CloudWatch::Dashboard")[0]!.Properties.DashboardBody);
  // Dashboard metrics: ["tokenstream","<name>","<dim>","<value>",...,{options}] inside the rendered body.
  const dashboard = [...body.matchAll(/\[\\"tokenstream\\",((?:\\"[^\\]*\\",?)+)/g)].map((m) => {
    const parts = [...m[1]!.matchAll(/\\"([^\\]*)\\"/g)].map((p) => p[1]!);
    const [name, ...dims] = parts;
    const dimensions: Record<string, string> = {};
    for (let i = 0; i + 1 < dims.length; i += 2) dimensions[dims[i]!] = dims[i + 1]!;
    return { namespace: "tokenstream", name: name!, dimensions };
  });
  const fn = ofType("AWS::Lambda::Function").find((f) => JSON.stringify(f.Properties).includes("PROFILES"))!;
  const brokerEnv = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  const task = ofType("AWS::ECS::TaskDefinition")[0]!.Properties;
  const workerEnv = Object.fromEntries(
    ((task.ContainerDefinitions as Json[])[0]!.Environment as Array<{ Name: string; Value: unknown }>).map(
      (e) => [e.Name, e.Value],
    ),
  );
  return {
    template,
    alarms,
    dashboard,
    brokerEnv: literalsOnly(brokerEnv),
    workerEnv: literalsOnly(workerEnv),
  };
}

/** CloudFormation references (queue URL, table names...) become placeholders a runtime config accepts. */
function literalsOnly(env: Record<string, unknown>): Record<string, string> {
  const placeholders: Record<string, string> = {
    PROFILES: JSON.stringify([
      {
        name: "p",
        loginUrl: "https://login.example.com",
        credentialsSecretArn: "c",
        tokenSecretArn: "t",
        allowedPrincipals: [],
      },
    ]),
    BROKER_URL: "https://broker.example.com/",
    QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/111122223333/q.fifo",
    DEAD_LETTER_QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/111122223333/dead",
    AWS_REGION: "eu-west-1",
  };
  return Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, typeof v === "string" ? v : (placeholders[k] ?? "placeholder")]),
  );
}

/** What the broker Lambda prints, composed exactly as its handlers do, for every metric it can count. */
function brokerEmits(env: Record<string, string>, names: readonly string[]): MetricIdentity[] {
  const { metrics } = composeBroker(loadBrokerConfig(env));
  return capturedEmf(() => {
    for (const name of names) metrics.count(name as never);
    metrics.flush();
  });
}

/** What a worker task prints, with the telemetry worker/app.ts creates (default dimension sourceKind). */
const WORKER_GAUGES = new Set<string>([
  "LiveSessions",
  "BufferDepth",
  "BacklogBytes",
  "BacklogAgeMs",
  "Covering",
  "UncoveredMs",
] satisfies GaugeName[]);

function workerEmits(env: Record<string, string>, names: readonly string[]): MetricIdentity[] {
  const config = loadWorkerConfig(env);
  const telemetry = createWorkerTelemetry({
    logLevel: "SILENT",
    dimensions: { sourceKind: config.sourceKind },
  });
  const alarm = createAlarmMetric({ sourceKind: config.sourceKind });
  return capturedEmf(() => {
    for (const name of names) {
      if (isAlarmMetric(name)) alarm(name);
      else if (WORKER_GAUGES.has(name)) telemetry.gauge(name as GaugeName, 1);
      else if (name === "SinkLatencyMs" || name === "SinkLatencyMsMax") telemetry.timing("SinkLatencyMs", 1);
      else telemetry.count(name as never);
    }
    telemetry.flush();
  });
}

afterEach(() => vi.restoreAllMocks());

for (const variant of [
  { label: "genesys", overrides: {} },
  {
    label: "generic",
    overrides: { sourceKind: "generic", genericStreamUrl: "wss://stream.example.com/v1" },
  },
]) {
  describe(`alarm and dashboard metrics match what the runtime emits (${variant.label})`, () => {
    let s: Synth;
    beforeAll(() => {
      s = synth(variant.overrides);
    }, 120_000);

    it("alarms on broker and worker metrics under their emitted dimension sets", () => {
      expect(s.alarms.map((a) => a.name).sort()).toEqual(
        [
          "AuditWriteFailures",
          "BacklogAgeMs",
          "BacklogBytes",
          "BacklogOverflow",
          "CoverageGaps",
          "Covering",
          "BufferDepth",
          "DeadLettered",
          "Gaps",
          "LiveSessions",
          "MalformedFrames",
          "MintFailures",
          "SessionsStopped",
          "SilentSessions",
          "TokenRefusals",
          "ChannelEvictions",
          "SinkLatencyMsMax",
          "TopicsRefused",
        ].sort(),
      );
      const emitted = new Set(
        [
          ...brokerEmits(
            s.brokerEnv,
            s.alarms
              .filter((a) => a.dimensions.service === s.brokerEnv.POWERTOOLS_SERVICE_NAME)
              .map((a) => a.name),
          ),
          ...workerEmits(
            s.workerEnv,
            s.alarms
              .filter((a) => a.dimensions.service !== s.brokerEnv.POWERTOOLS_SERVICE_NAME)
              .map((a) => a.name),
          ),
        ].map(key),
      );
      for (const alarm of s.alarms) expect(emitted, key(alarm)).toContain(key(alarm));
      expect(s.alarms.find((a) => a.name === "Gaps")!.dimensions.sourceKind).toBe(variant.label);
    });

    it("graphs only metrics the runtime emits", () => {
      expect(s.dashboard.length).toBeGreaterThan(10);
      const broker = s.dashboard.filter((m) => m.dimensions.service === s.brokerEnv.POWERTOOLS_SERVICE_NAME);
      const worker = s.dashboard.filter((m) => m.dimensions.service !== s.brokerEnv.POWERTOOLS_SERVICE_NAME);
      expect(broker.length).toBeGreaterThan(0);
      expect(worker.length).toBeGreaterThan(0);
      const emitted = new Set(
        [
          ...brokerEmits(
            s.brokerEnv,
            broker.map((m) => m.name),
          ),
          ...workerEmits(
            s.workerEnv,
            worker.map((m) => m.name),
          ),
        ].map(key),
      );
      for (const m of s.dashboard) expect(emitted, key(m)).toContain(key(m));
    });
  });
}
