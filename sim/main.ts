/** CLI: `npx tsx sim/main.ts --port 8080 --token-lifetime 60 --heartbeat-ms 5000 --rate 10` */
import { CliArgsError, parseCliArgs, USAGE } from "./cli-args.ts";
import { startSimulator } from "./server.ts";
import type { Simulator } from "./types.ts";

function statusLine(sim: Simulator): string {
  const c = sim.counters;
  const ledger = sim.ledger.summary();
  return (
    `tokens ${c.tokensIssued}/${c.tokenRequests} req, channels ${c.channelsCreated}, ` +
    `sockets open ${sim.openSockets().length} (opened ${c.socketsOpened}, drops ${c.drops}, ` +
    `socket_closing ${c.socketClosingSent}), topics ${sim.subscribedTopics().length}, ` +
    `events ${ledger.published} published / ${ledger.delivered} written to a socket / ${ledger.undelivered} to none` +
    (sim.chaos
      ? `, chaos seed ${sim.chaos.seed}: ${Object.entries(sim.chaos.counts)
          .map(([kind, n]) => `${kind} ${n}`)
          .join(", ")}`
      : "")
  );
}

async function main(): Promise<void> {
  let config: ReturnType<typeof parseCliArgs>;
  try {
    config = parseCliArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof CliArgsError) {
      console.error(`${error.message}\n${USAGE}`);
      process.exit(2);
    }
    throw error;
  }
  const sim = await startSimulator(config.options);
  console.log(`simulator listening
  login (OAuth):   ${sim.loginUrl}/oauth/token
  API:             ${sim.apiUrl}/api/v2/notifications/channels
  generic stream:  ${sim.genericStreamUrl}?topics=a,b&access_token=...`);
  const status =
    config.statusEveryMs > 0
      ? setInterval(() => console.log(statusLine(sim)), config.statusEveryMs)
      : undefined;
  const shutdown = async () => {
    clearInterval(status);
    await sim.close();
    console.log(`final: ${statusLine(sim)}`);
    process.exit(0);
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}

main().catch((error: unknown) => {
  console.error(`simulator failed: ${(error as Error).message}`);
  process.exit(1);
});
