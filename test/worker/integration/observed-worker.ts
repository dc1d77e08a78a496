/**
 * The worker's real telemetry (silent) with its warn and error log lines recorded, and its alarm metrics
 * recorded: what an operator would see, for tests to assert on.
 */
import { vi } from "vitest";
import type { AlarmMetricName } from "../../../worker/supervisor/alarm-metric.ts";
import { createWorkerTelemetry } from "../../../worker/telemetry.ts";
import type { HarnessOptions } from "./harness.ts";

export interface LogLine {
  level: "warn" | "error";
  message: string;
  extra: Record<string, unknown>;
}

/** The real worker telemetry (silent), with its warn/error lines recorded; alarm metrics recorded too. */
export function observed(o: HarnessOptions): {
  options: HarnessOptions;
  lines: LogLine[];
  alarms: AlarmMetricName[];
} {
  const telemetry = createWorkerTelemetry({ logLevel: "SILENT" });
  const lines: LogLine[] = [];
  for (const level of ["warn", "error"] as const) {
    vi.spyOn(telemetry.logger, level).mockImplementation(((
      message: string,
      extra: Record<string, unknown>,
    ) => {
      lines.push({ level, message, extra: extra ?? {} });
    }) as never);
  }
  const alarms: AlarmMetricName[] = [];
  return {
    lines,
    alarms,
    options: { ...o, deps: { telemetry, alarmMetric: (name) => void alarms.push(name), ...o.deps } },
  };
}

export const withCode = (lines: LogLine[], code: string) => lines.filter((l) => l.extra.code === code);
