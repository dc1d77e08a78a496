import { Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { MAX_TOPICS_ENV_BYTES } from "../../lib/config.ts";
import { addTokenstream } from "../../lib/tokenstream-app.ts";
import { testApp, testConfig } from "./helpers.ts";

type Json = Record<string, unknown>;
type Resources = Record<string, { Type: string; Properties: Json }>;

/**
 * What `cdk synth` caches in cdk.context.json after looking up the VPC below (without it CDK substitutes
 * `vpc-12345`, which CloudFormation validation, on with the recommended flags, rejects).
 */
const VPC_LOOKUP = {
  "vpc-provider:account=111122223333:filter.vpc-id=vpc-0123456789abcdef0:region=eu-west-1:returnAsymmetricSubnets=true":
    {
      vpcId: "vpc-0123456789abcdef0",
      vpcCidrBlock: "10.20.0.0/16",
      ownerAccountId: "111122223333",
      availabilityZones: [],
      subnetGroups: [
        {
          name: "Private",
          type: "Private",
          subnets: [
            {
              subnetId: "subnet-0aaaaaaaaaaaaaaaa",
              cidr: "10.20.0.0/20",
              availabilityZone: "eu-west-1a",
              routeTableId: "rtb-0aaaaaaaaaaaaaaaa",
            },
            {
              subnetId: "subnet-0bbbbbbbbbbbbbbbb",
              cidr: "10.20.16.0/20",
              availabilityZone: "eu-west-1b",
              routeTableId: "rtb-0bbbbbbbbbbbbbbbb",
            },
          ],
        },
      ],
    },
};

function synth(overrides: Record<string, unknown> = {}): { template: Template; resources: Resources } {
  const app = testApp();
  for (const [key, value] of Object.entries(VPC_LOOKUP)) app.node.setContext(key, value);
  const stack = addTokenstream(app, testConfig(overrides), { nag: false });
  const template = Template.fromStack(stack);
  return { template, resources: template.toJSON().Resources as Resources };
}

function propertiesOf(resources: Resources, type: string): Json[] {
  return Object.values(resources)
    .filter((r) => r.Type === type)
    .map((r) => r.Properties);
}

describe("configuration variants", () => {
  it("reserves broker concurrency only when brokerReservedConcurrency is set", () => {
    const brokerFn = (r: Resources) =>
      propertiesOf(r, "AWS::Lambda::Function").find((f) => JSON.stringify(f).includes("PROFILES"))!;
    expect(brokerFn(synth().resources).ReservedConcurrentExecutions).toBeUndefined();
    expect(brokerFn(synth({ brokerReservedConcurrency: 5 }).resources).ReservedConcurrentExecutions).toBe(5);
  }, 90_000);

  it("runs in an existing VPC without creating network resources", () => {
    const { template, resources } = synth({
      vpcId: "vpc-0123456789abcdef0",
      account: "111122223333",
      region: "eu-west-1",
    });
    for (const type of ["AWS::EC2::VPC", "AWS::EC2::NatGateway", "AWS::EC2::Subnet", "AWS::EC2::FlowLog"]) {
      template.resourceCountIs(type, 0);
    }
    const [service] = propertiesOf(resources, "AWS::ECS::Service");
    const network = (service!.NetworkConfiguration as { AwsvpcConfiguration: Json }).AwsvpcConfiguration;
    expect(network.AssignPublicIp).toBe("DISABLED");
    // Subnets of the looked-up VPC are literal ids, not references to subnets of this stack.
    expect(network.Subnets).toEqual(["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]);
    const [sg] = propertiesOf(resources, "AWS::EC2::SecurityGroup");
    expect(sg!.VpcId).toBe("vpc-0123456789abcdef0");
    // The VPC owner's default security group and endpoints are left alone.
    template.resourceCountIs("Custom::VpcRestrictDefaultSG", 0);
    template.resourceCountIs("AWS::EC2::VPCEndpoint", 0);
  });

  it("scales to several worker tasks while alarming per task on lost redundancy", () => {
    const { resources } = synth({ workerCount: 2, redundancy: 2 });
    const [service] = propertiesOf(resources, "AWS::ECS::Service");
    expect(service!.DesiredCount).toBe(2);
    const live = propertiesOf(resources, "AWS::CloudWatch::Alarm").find(
      (a) => a.MetricName === "LiveSessions",
    );
    expect(live).toMatchObject({
      Threshold: 2,
      Statistic: "Minimum",
      ComparisonOperator: "LessThanThreshold",
    });
  });

  it("fits the largest accepted topic list in a task definition ECS will register (64 KiB)", () => {
    // Topic names up to the MAX_TOPICS_ENV_BYTES budget (+ commas), then everything else the template adds.
    const topic = (i: number) => `v2.routing.queues.${String(i).padStart(36, "0")}.conversations`;
    const topics: string[] = [];
    while ([...topics, topic(topics.length)].join(",").length <= MAX_TOPICS_ENV_BYTES)
      topics.push(topic(topics.length));
    const { resources } = synth({ topics });
    const [task] = propertiesOf(resources, "AWS::ECS::TaskDefinition");
    // CloudFormation references stand in for values (ARNs, URLs) up to ~200 characters longer once resolved.
    const references = (JSON.stringify(task).match(/"(Ref|Fn::GetAtt|Fn::Join|Fn::Sub)"/g) ?? []).length;
    expect(JSON.stringify(task).length + references * 200).toBeLessThan(64 * 1024);
  });

  it("keeps the broker environment under Lambda's 4 KiB with the most profiles the config accepts", () => {
    const profile = (i: number) => ({
      name: `profile-${String(i).padStart(2, "0")}`,
      genesysEnv: "mypurecloud.com",
      credentialsSecretArn: `arn:aws:secretsmanager:eu-west-1:111122223333:secret:tokenstream/genesys/p${i}-AbCdEf`,
    });
    const profiles: ReturnType<typeof profile>[] = [];
    for (;;) {
      try {
        testConfig({ profiles: [...profiles, profile(profiles.length)] });
      } catch {
        break;
      }
      profiles.push(profile(profiles.length));
    }
    expect(profiles.length).toBeGreaterThan(5);
    const { resources } = synth({ profiles });
    const fn = propertiesOf(resources, "AWS::Lambda::Function").find((f) =>
      JSON.stringify(f).includes("PROFILES"),
    )!;
    const env = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
    // Resolved size: literal values as they are, each secret ARN / table name reference at its longest.
    const size = Object.entries(env).reduce((total, [key, value]) => {
      const text = JSON.stringify(value);
      const references = (text.match(/"(Ref|Fn::GetAtt)"/g) ?? []).length;
      const literal =
        typeof value === "string"
          ? value.length
          : text.replace(/\{[^{}]*"(Ref|Fn::GetAtt)"[^{}]*\}/g, "").length;
      return total + key.length + literal + references * 140;
    }, 0);
    expect(size).toBeLessThan(4 * 1024);
  });

  it("sends alarms to an existing topic instead of creating one", () => {
    const topicArn = "arn:aws:sns:eu-west-1:111122223333:ops-alarms";
    const { template, resources } = synth({ alarmTopicArn: topicArn, alarmEmail: undefined });
    template.resourceCountIs("AWS::SNS::Topic", 0);
    for (const alarm of propertiesOf(resources, "AWS::CloudWatch::Alarm")) {
      expect(alarm.AlarmActions).toEqual([topicArn]);
    }
  });

  it("never puts a secret value in the template, the broker environment or the task definition", () => {
    const { template, resources } = synth();
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/resolve:secretsmanager/);
    expect(text).not.toMatch(/clientSecret|client_secret|access_token"|GENESYS_CLIENT/i);
    for (const secret of propertiesOf(resources, "AWS::SecretsManager::Secret")) {
      expect(secret.SecretString).toBeUndefined();
    }
    // The operator's credentials secrets are referenced, never created (only the token caches are).
    for (const secret of propertiesOf(resources, "AWS::SecretsManager::Secret")) {
      expect(String(secret.Description)).toMatch(/^tokenstream broker token cache for profile /);
    }
    const [task] = propertiesOf(resources, "AWS::ECS::TaskDefinition");
    for (const container of task!.ContainerDefinitions as Json[]) expect(container.Secrets).toBeUndefined();
  });
});
