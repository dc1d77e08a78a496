import { runAuditCli } from "../tools/audit/cli.ts";

// The SDK's notice about its future Node 22 requirement is not actionable for someone reading the audit trail.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

process.exitCode = await runAuditCli(process.argv.slice(2), {
  stdout: (chunk) => process.stdout.write(chunk),
  stderr: (chunk) => process.stderr.write(chunk),
  env: process.env,
});
