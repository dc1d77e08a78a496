/**
 * The guard a stack cannot enforce on itself: Lambda resource policies only allow, and any principal whose own
 * IAM policy grants `lambda:InvokeFunction` on the broker can invoke it directly with a made-up
 * `requestContext.authorizer.iam` caller. This statement, attached as an SCP (or in the permissions boundary of
 * every role and user), denies that: the Function URL function may only be invoked through its URL, where Lambda
 * itself verifies the SigV4 caller, and the refresh function (which never hands a token out) only by the
 * schedule's role.
 * docs/security.md prints it with placeholders; the stack outputs it filled in (`BrokerInvokeGuardPolicy`).
 */

export interface BrokerInvokeGuardTargets {
  readonly urlFunctionArn: string;
  readonly refreshFunctionArn: string;
  readonly scheduleRoleArn: string;
}

export interface PolicyDocumentJson {
  Version: "2012-10-17";
  Statement: Array<{
    Sid: string;
    Effect: "Deny";
    Action: string[];
    Resource: string[];
    Condition: Record<string, Record<string, string>>;
  }>;
}

const INVOKE_ACTIONS = ["lambda:InvokeFunction", "lambda:InvokeAsync"];

export function brokerInvokeGuard(targets: BrokerInvokeGuardTargets): PolicyDocumentJson {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "TokenstreamBrokerOnlyThroughItsFunctionUrl",
        Effect: "Deny",
        Action: INVOKE_ACTIONS,
        Resource: [targets.urlFunctionArn, `${targets.urlFunctionArn}:*`],
        // Absent on a direct Invoke, "true" on a Function URL request (whose caller Lambda authenticates itself).
        Condition: { BoolIfExists: { "lambda:InvokedViaFunctionUrl": "false" } },
      },
      {
        Sid: "TokenstreamRefreshOnlyBySchedule",
        Effect: "Deny",
        Action: INVOKE_ACTIONS,
        Resource: [targets.refreshFunctionArn, `${targets.refreshFunctionArn}:*`],
        // The schedule's role, which only scheduler.amazonaws.com (this account) can assume.
        Condition: { ArnNotLike: { "aws:PrincipalArn": targets.scheduleRoleArn } },
      },
    ],
  };
}
