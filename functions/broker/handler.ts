import { type ComposedBroker, composeBroker } from "./composition.ts";
import { loadBrokerConfig } from "./config.ts";
import type { FunctionUrlResult } from "./core/events.ts";
import type { ScheduledRefreshSummary } from "./core/scheduled-refresh.ts";

let composed: ComposedBroker | undefined;

/**
 * The broker Lambda: Function URL requests (`GET /token`, `POST /token/refresh`) and the EventBridge
 * Scheduler payload `{"kind":"scheduled-refresh"}`. Configuration is read and validated once per container.
 */
export async function handler(
  event: unknown,
  context?: { awsRequestId?: string },
): Promise<FunctionUrlResult | ScheduledRefreshSummary> {
  composed ??= composeBroker(loadBrokerConfig(process.env));
  try {
    return await composed.broker.handle(event, context);
  } finally {
    composed.metrics.flush();
  }
}
