import { type ComposedBroker, composeBroker } from "./composition.ts";
import { loadBrokerConfig } from "./config.ts";
import type { ScheduledRefreshSummary } from "./core/scheduled-refresh.ts";

let composed: ComposedBroker | undefined;

/**
 * The scheduled-refresh function (EventBridge Scheduler is its only invoker): rotates every profile whose token
 * passed its refresh point, whatever the payload. It has no Function URL and never hands a token out, so
 * invoking it directly yields no token and no forged hand-out record.
 */
export async function handler(
  _event: unknown,
  context?: { awsRequestId?: string },
): Promise<ScheduledRefreshSummary> {
  composed ??= composeBroker(loadBrokerConfig(process.env));
  try {
    return await composed.broker.scheduledRefresh(context);
  } finally {
    composed.metrics.flush();
  }
}
