import { type App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import type { TokenstreamConfig } from "./config.ts";
import { TokenstreamStack } from "./tokenstream-stack.ts";

export interface AddTokenstreamOptions {
  /**
   * Broker handler source files (Function URL function, scheduled-refresh function).
   * @default functions/broker/url-handler.ts and refresh-handler.ts in this repository
   */
  readonly brokerEntries?: { readonly url: string; readonly refresh: string };
  /**
   * Run the cdk-nag AwsSolutions rule pack on synth (violations fail the synth).
   * @default true
   */
  readonly nag?: boolean;
}

/**
 * Adds the tokenstream stack to `app` and registers cdk-nag AwsSolutions as a policy-validation plugin,
 * so every synth fails on an unacknowledged finding.
 */
export function addTokenstream(
  app: App,
  config: TokenstreamConfig,
  options: AddTokenstreamOptions = {},
): TokenstreamStack {
  const stack = new TokenstreamStack(app, config.stackName, {
    config,
    ...(options.brokerEntries ? { brokerEntries: options.brokerEntries } : {}),
    ...(config.account || config.region ? { env: { account: config.account, region: config.region } } : {}),
    description: "tokenstream: auditable OAuth token broker and zero-loss WebSocket-to-SQS relay",
  });
  if (options.nag ?? true) {
    // Acknowledgements are also written into each resource's template Metadata (cdk_nag) as an audit trail.
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { writeSuppressionsToCloudFormation: true }));
  }
  return stack;
}
