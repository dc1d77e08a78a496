import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../lib/config.ts";
import { addTokenstream } from "../../lib/tokenstream-app.ts";
import { workerNodeOptions } from "../../shared/worker-runtime.ts";
import { renderJoin, testApp } from "./helpers.ts";

type Json = Record<string, unknown>;
type Resources = Record<string, { Type: string; Properties: Json }>;

const profile = (name: string) => ({
  name,
  genesysEnv: "mypurecloud.com",
  credentialsSecretName: `tokenstream/${name}`,
});

function synth(extra: Record<string, unknown> = {}): { template: Template; resources: Resources } {
  const dir = mkdtempSync(join(tmpdir(), "tokenstream-shard-stack-"));
  writeFileSync(join(dir, "agents.txt"), "v2.users.u1.presence\nv2.users.u2.presence\n");
  const config = parseConfig(
    {
      profiles: [profile("org-a"), profile("org-b"), profile("org-c")],
      alarmEmail: "ops@example.com",
      shards: [
        {
          name: "agents",
          profile: "org-a",
          topicsFile: "agents.txt",
          cpu: 1024,
          memoryMiB: 2048,
          workerCount: 2,
          redundancy: 1,
        },
        { name: "queues", profile: "org-b", topicsS3Uri: "s3://ops-topics/queues.txt", maxTopics: 2000 },
        { name: "misc", profile: "org-c", topics: ["v2.routing.queues.q1.conversations"] },
      ],
      ...extra,
    },
    { baseDir: dir },
  );
  const stack = addTokenstream(testApp(), config, { nag: false });
  const template = Template.fromStack(stack);
  return { template, resources: template.toJSON().Resources as Resources };
}

function ofType(resources: Resources, type: string): [string, Json][] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties]);
}

function envOf(task: Json): Record<string, unknown> {
  const [container] = task.ContainerDefinitions as { Environment: { Name: string; Value: unknown }[] }[];
  return Object.fromEntries(container!.Environment.map((e) => [e.Name, e.Value]));
}

/** Every statement of the policies attached to the role whose logical id starts with `rolePrefix`. */
function statementsOf(resources: Resources, rolePrefix: string): Json[] {
  return ofType(resources, "AWS::IAM::Policy")
    .filter(([, p]) => JSON.stringify(p.Roles).includes(rolePrefix))
    .flatMap(([, p]) => (p.PolicyDocument as { Statement: Json[] }).Statement);
}

describe("shards in the stack", () => {
  const { template, resources } = synth();

  it("runs one ECS service per shard, sharing one broker, one queue, one cluster and one VPC", () => {
    template.resourceCountIs("AWS::ECS::Service", 3);
    template.resourceCountIs("AWS::ECS::TaskDefinition", 3);
    template.resourceCountIs("AWS::ECS::Cluster", 1);
    template.resourceCountIs("AWS::EC2::VPC", 1);
    // The event queue and its dead-letter queue (the broker's schedule has a standard DLQ of its own).
    expect(ofType(resources, "AWS::SQS::Queue").filter(([, q]) => q.FifoQueue === true)).toHaveLength(2);
    template.resourceCountIs("AWS::Lambda::Url", 1);
    const queueUrls = new Set(
      ofType(resources, "AWS::ECS::TaskDefinition").map(([, t]) => JSON.stringify(envOf(t).QUEUE_URL)),
    );
    const brokerUrls = new Set(
      ofType(resources, "AWS::ECS::TaskDefinition").map(([, t]) => JSON.stringify(envOf(t).BROKER_URL)),
    );
    expect(queueUrls.size).toBe(1);
    expect(brokerUrls.size).toBe(1);
    const services = ofType(resources, "AWS::ECS::Service").map(([id, s]) => [id, s.DesiredCount]);
    expect(services).toEqual([
      [expect.stringMatching(/^RelayShardagentsService/), 2],
      [expect.stringMatching(/^RelayShardqueuesService/), 1],
      [expect.stringMatching(/^RelayShardmiscService/), 1],
    ]);
  });

  it("sizes each shard's tasks and gives each its profile, redundancy and topic source", () => {
    const tasks = Object.fromEntries(
      ofType(resources, "AWS::ECS::TaskDefinition").map(([id, t]) => [
        id.replace(/^RelayShard(\w+?)TaskDefinition.*$/, "$1"),
        t,
      ]),
    );
    expect([tasks.agents!.Cpu, tasks.agents!.Memory, tasks.queues!.Cpu, tasks.queues!.Memory]).toEqual([
      "1024",
      "2048",
      "512",
      "1024",
    ]);
    const agents = envOf(tasks.agents!);
    expect(agents).toMatchObject({ TOKEN_PROFILE: "org-a", REDUNDANCY: "1", SHARD: "agents" });
    expect(agents.TOPICS).toBeUndefined();
    expect(JSON.stringify(agents.TOPICS_S3_URI)).toMatch(/s3:\/\/.*\.txt/);
    expect(envOf(tasks.queues!)).toMatchObject({
      TOKEN_PROFILE: "org-b",
      REDUNDANCY: "2",
      TOPICS_S3_URI: "s3://ops-topics/queues.txt",
      TOPICS_MAX: "2000",
    });
    expect(envOf(tasks.misc!)).toMatchObject({
      TOKEN_PROFILE: "org-c",
      TOPICS: "v2.routing.queues.q1.conversations",
    });
  });

  it("sizes each shard's Node heap from that shard's task memory", () => {
    const tasks = ofType(resources, "AWS::ECS::TaskDefinition").map(([, t]) => t);
    expect(new Set(tasks.map((t) => t.Memory))).toEqual(new Set(["2048", "1024"]));
    for (const task of tasks) {
      expect(envOf(task)).toMatchObject({
        NODE_OPTIONS: workerNodeOptions(Number(task.Memory)),
        MALLOC_ARENA_MAX: "2",
      });
    }
    expect(envOf(tasks.find((t) => t.Memory === "2048")!).NODE_OPTIONS).toContain(
      "--max-old-space-size=1024",
    );
  });

  it("lets a shard's task role read its own topic object and nothing else there", () => {
    // The durable backlog's grants (its own bucket, lib/relay-durability.ts) are asserted in durability.test.ts.
    const durable = new Set([
      "DurableBacklogObjects",
      "DurableBacklogList",
      "CoverageLedgerKey",
      "CoverageLedger",
    ]);
    const own = (prefix: string) =>
      statementsOf(resources, prefix).filter((s) => !durable.has(String((s as { Sid?: unknown }).Sid)));
    const read = (prefix: string) => own(prefix).filter((s) => JSON.stringify(s.Action).includes("s3:Get"));
    expect(read("RelayShardqueuesTaskDefinitionTaskRole")).toEqual([
      expect.objectContaining({
        Sid: "ReadTopicSet",
        Action: "s3:GetObject",
        Resource: { "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":s3:::ops-topics/queues.txt"]] },
      }),
    ]);
    const [agents] = read("RelayShardagentsTaskDefinitionTaskRole");
    expect(agents).toMatchObject({ Sid: "ReadTopicSet", Action: "s3:GetObject" });
    expect(JSON.stringify(agents!.Resource)).toMatch(/\.txt/);
    expect(JSON.stringify(agents!.Resource)).not.toContain("*");
    expect(read("RelayShardmiscTaskDefinitionTaskRole")).toEqual([]);
    for (const prefix of ["RelayShardagents", "RelayShardqueues", "RelayShardmisc"]) {
      const actions = own(`${prefix}TaskDefinitionTaskRole`).flatMap((s) => [s.Action].flat());
      expect(
        actions.filter((a) => String(a).startsWith("s3:") && a !== "s3:GetObject" && a !== "s3:PutObject"),
      ).toEqual([]);
    }
  });

  it("uses SQS FIFO high-throughput mode unless turned off", () => {
    const queue = () =>
      ofType(resources, "AWS::SQS::Queue")
        .map(([, q]) => q)
        .find((q) => q.RedrivePolicy)!;
    expect(queue()).toMatchObject({
      DeduplicationScope: "messageGroup",
      FifoThroughputLimit: "perMessageGroupId",
    });
    const off = synth({ queueHighThroughput: false });
    const offQueue = ofType(off.resources, "AWS::SQS::Queue")
      .map(([, q]) => q)
      .find((q) => q.RedrivePolicy)!;
    expect(offQueue).toMatchObject({ DeduplicationScope: "queue", FifoThroughputLimit: "perQueue" });
  });

  it("lets each shard's task role obtain its own profile's token and no other", () => {
    const [fn] = ofType(resources, "AWS::Lambda::Function").filter(([id]) =>
      /^BrokerFunction[0-9A-F]{8}$/.test(id),
    );
    const profiles = renderJoin((fn![1].Environment as { Variables: Json }).Variables.PROFILES) as Array<{
      name: string;
      allowedPrincipals: string[];
    }>;
    const role = (shard: string) => {
      const ids = ofType(resources, "AWS::IAM::Role")
        .map(([id]) => id)
        .filter((id) => id.startsWith(`RelayShard${shard}TaskDefinitionTaskRole`));
      expect(ids, shard).toHaveLength(1);
      return `GetAtt:${ids[0]}`;
    };
    expect(profiles.map((p) => [p.name, p.allowedPrincipals])).toEqual([
      ["org-a", [role("agents")]],
      ["org-b", [role("queues")]],
      ["org-c", [role("misc")]],
    ]);
  });
});
