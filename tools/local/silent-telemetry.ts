import { Logger } from "@aws-lambda-powertools/logger";
import type { WorkerTelemetry } from "../../worker/telemetry.ts";

/**
 * Worker telemetry for local runs: no EMF metrics and, by default, no logs (the status line and summary take
 * their place). Against a real org, `logLevel` "WARN" shows why a session cannot start.
 */
export function silentWorkerTelemetry(logLevel: "SILENT" | "WARN" = "SILENT"): WorkerTelemetry {
  return {
    logger: new Logger({ serviceName: "tokenstream-worker-local", logLevel }),
    count: () => {},
    gauge: () => {},
    timing: () => {},
    flush: () => {},
    start: () => {},
    stop: () => {},
  };
}
