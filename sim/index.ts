/** Genesys Cloud + OAuth simulator: public entry point (see sim/README.md). */

export type { ChaosLogEntry, ChaosOptions } from "./chaos.ts";
export { CHAOS_FAULT_KINDS, type ChaosFaultKind, ChaosPlan } from "./chaos-plan.ts";
export type { CorrelationModelName } from "./correlation.ts";
export type { LedgerEntry, LedgerSummary, MissingOptions, ReceivedRef } from "./ledger.ts";
export { Ledger, receivedRef } from "./ledger.ts";
export type { GeneratedEventBody } from "./publisher.ts";
export type { RepeatKind } from "./repeats.ts";
export { startSimulator } from "./server.ts";
export type {
  ChannelLimitPolicy,
  ChaosControl,
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
