/**
 * `npm start`: the whole system on this machine (simulator, broker, worker, local SQS + DynamoDB) with a live
 * status line; Ctrl-C (or --duration) stops it gracefully and prints the summary. See `npm start -- --help`.
 */
import { createInterruptHandler } from "../tools/local/interrupts.ts";
import { parseLocalArgs } from "../tools/local/local-args.ts";
import { LOCAL_DEFAULTS, type RunLocalOptions, runLocal } from "../tools/local/run-local.ts";
import { formatSummaryTable, goalMet, verdict } from "../tools/local/summary.ts";

const USAGE = `Usage: npm start -- [options]

Runs the Genesys simulator, the token broker, the worker (redundancy 2) and local SQS/DynamoDB emulators,
shows a live status line, and on Ctrl-C (or after --duration) drains everything and prints a summary
(exit code 0 only when nothing was lost outside a recorded gap and nothing duplicated). Within a minute: token rotations (${LOCAL_DEFAULTS.tokenLifetimeSec} s tokens),
v2.system.socket_closing at ${LOCAL_DEFAULTS.socketClosingAfterMs / 1000} s then every ${LOCAL_DEFAULTS.socketClosingEveryMs / 1000} s, one abrupt socket drop at ${LOCAL_DEFAULTS.dropAfterMs / 1000} s.

Options:
  --duration <s>         stop after this many seconds (default: run until Ctrl-C)
  --redundancy <n>       sessions kept live (default ${LOCAL_DEFAULTS.redundancy})
  --rate <n>             simulator events per second per topic (default ${LOCAL_DEFAULTS.eventRatePerTopic})
  --token-lifetime <s>   simulator token lifetime (default ${LOCAL_DEFAULTS.tokenLifetimeSec})
  --topics <a,b>         topics (default: three sample topics; env TOPICS)
  --genesys-env <domain> use a real Genesys Cloud org instead of the simulator (env GENESYS_ENV),
                         e.g. mypurecloud.ie; needs GENESYS_CLIENT_ID and GENESYS_CLIENT_SECRET in the
                         environment (the secret is never taken from the command line) and --topics
  --client-id <id>       OAuth client id for --genesys-env (env GENESYS_CLIENT_ID)
  -h, --help             show this help

Events land in a JSONL file under .local/ (its path is printed).`;

async function main(): Promise<number> {
  let options: RunLocalOptions | undefined;
  try {
    options = parseLocalArgs(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
    return 2;
  }
  if (!options) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const abort = new AbortController();
  process.on(
    "SIGINT",
    createInterruptHandler({
      onStop: () => abort.abort(),
      onForce: () => {
        process.stderr.write("\nsecond Ctrl-C: exiting without draining\n");
        process.exit(130);
      },
    }),
  );
  process.on("SIGTERM", () => abort.abort());

  process.stdout.write(
    options.real
      ? `tokenstream local run against ${options.real.genesysEnv} (no simulator), local queue\n`
      : "tokenstream local run: simulator + broker + worker + local SQS/DynamoDB. Ctrl-C to stop.\n",
  );
  const result = await runLocal({
    ...options,
    signal: abort.signal,
    status: { isTTY: process.stdout.isTTY === true, write: (chunk) => process.stdout.write(chunk) },
    log: (message) => process.stdout.write(`${message}\n`),
  });

  process.stdout.write(`\nSummary\n${formatSummaryTable(result.summary)}\n${verdict(result.summary)}\n`);
  if (!result.drained) process.stdout.write("WARNING: the worker stopped before its buffer was drained.\n");
  if (result.reconciliation && result.reconciliation.lostSample.length > 0) {
    const sample = result.reconciliation.lostSample
      .map((event) => `${event.topic}#${event.sequence}`)
      .join(", ");
    process.stdout.write(`lost (sample): ${sample}\n`);
  }
  if (result.auditSummary)
    process.stdout.write(`\nBroker audit trail (tokenstream-audit --summary)\n${result.auditSummary}`);
  process.stdout.write(`\nEvents: ${result.jsonlPath}\n`);
  return goalMet(result.summary) === false ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
