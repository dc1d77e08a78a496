/** Genesys Cloud + OAuth simulator: public entry point (see sim/README.md). */

export type { LedgerEntry, LedgerSummary, MissingOptions, ReceivedRef } from "./ledger.ts";
export { Ledger, receivedRef } from "./ledger.ts";
export type { GeneratedEventBody } from "./publisher.ts";
export { startSimulator } from "./server.ts";
export type {
  ChannelLimitPolicy,
  FaultQueueControl,
  HttpFault,
  PublishedEvent,
  PublishOptions,
  SimulatedClient,
  Simulator,
  SimulatorCounters,
  SimulatorFaults,
  SimulatorOptions,
  SocketInfo,
  SocketSelector,
} from "./types.ts";
