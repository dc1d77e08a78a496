import { runAuditCli } from "../tools/audit/cli.ts";

process.exitCode = await runAuditCli(process.argv.slice(2), {
  stdout: (chunk) => process.stdout.write(chunk),
  stderr: (chunk) => process.stderr.write(chunk),
  env: process.env,
});
