import { Logger } from "@aws-lambda-powertools/logger";
import type { WorkerTelemetry } from "../../worker/telemetry.ts";

/** Worker telemetry that prints nothing: locally the status line and summary take the place of logs and EMF. */
export function silentWorkerTelemetry(): WorkerTelemetry {
  return {
    logger: new Logger({ serviceName: "tokenstream-worker-local", logLevel: "SILENT" }),
    count: () => {},
    gauge: () => {},
    timing: () => {},
    flush: () => {},
    start: () => {},
    stop: () => {},
  };
}
