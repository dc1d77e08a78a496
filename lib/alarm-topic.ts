import { RemovalPolicy, Stack } from "aws-cdk-lib";
import { PolicyStatement, ServicePrincipal } from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { Topic } from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import type { Construct } from "constructs";

/** Every alarm of the stack is named `<stack name>-<alarm id>` (lib/tokenstream-alarms.ts). */
export function alarmNamePrefix(scope: Construct): string {
  return `${Stack.of(scope).stackName}-`;
}

/** `arn:<partition>:cloudwatch:<region>:<account>:alarm:<stack name>-*`: the ARNs of this stack's alarms. */
export function stackAlarmArnPattern(scope: Construct): string {
  const stack = Stack.of(scope);
  return `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:${alarmNamePrefix(scope)}*`;
}

/** The conditions that confine the CloudWatch service principal to this account's, this stack's alarms. */
export function cloudWatchAlarmConditions(scope: Construct): Record<string, Record<string, string>> {
  return {
    StringEquals: { "aws:SourceAccount": Stack.of(scope).account },
    ArnLike: { "aws:SourceArn": stackAlarmArnPattern(scope) },
  };
}

/**
 * The SNS topic alarms notify (construct ids `AlarmTopic` and `AlarmTopicKey` in `scope`): KMS-encrypted,
 * TLS-only, with a topic policy that lets CloudWatch publish (the TLS-only policy replaces SNS's default one,
 * so without this statement no alarm would be delivered) and a key policy that lets CloudWatch use the key,
 * both only for this stack's alarms in this account.
 */
export function createAlarmTopic(scope: Construct, email?: string): { topic: Topic; key: Key } {
  const cloudWatch = new ServicePrincipal("cloudwatch.amazonaws.com");
  const conditions = cloudWatchAlarmConditions(scope);
  const key = new Key(scope, "AlarmTopicKey", {
    description: "tokenstream alarm topic",
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  key.addToResourcePolicy(
    new PolicyStatement({
      sid: "CloudWatchAlarmsOfThisStack",
      principals: [cloudWatch],
      actions: ["kms:Decrypt", "kms:GenerateDataKey*"],
      resources: ["*"],
      conditions,
    }),
  );
  const topic = new Topic(scope, "AlarmTopic", {
    displayName: "tokenstream alarms",
    masterKey: key,
    enforceSSL: true,
  });
  topic.addToResourcePolicy(
    new PolicyStatement({
      sid: "CloudWatchAlarmsOfThisStackPublish",
      principals: [cloudWatch],
      actions: ["sns:Publish"],
      resources: [topic.topicArn],
      conditions,
    }),
  );
  if (email) topic.addSubscription(new EmailSubscription(email));
  return { topic, key };
}
