import { type ComposedBroker, composeBroker } from "./composition.ts";
import { loadBrokerConfig } from "./config.ts";
import type { FunctionUrlResult } from "./core/events.ts";

let composed: ComposedBroker | undefined;

/**
 * The Function URL function: `GET /token` and `POST /token/refresh` only. It never runs the scheduled refresh,
 * so a direct invoke with a schedule payload is refused and audited like any request without a verified
 * caller. Configuration is read and validated once per container.
 */
export async function handler(event: unknown): Promise<FunctionUrlResult> {
  composed ??= composeBroker(loadBrokerConfig(process.env));
  try {
    return await composed.broker.handleFunctionUrl(event);
  } finally {
    composed.metrics.flush();
  }
}
