/**
 * The latency proxy (latency-proxy.ts) in its own process, so its work never shares an event loop with the
 * client being measured. LATENCY_PROXY_SPEC = {"target","delayMs","jitterMs"}; replies {type:"ready",url},
 * and {type:"held",held} to each {type:"held"} (the answers held so far and their total hold).
 */
import { LatencyProxy, type LatencyProxyOptions } from "./latency-proxy.ts";

const spec = JSON.parse(process.env.LATENCY_PROXY_SPEC ?? "{}") as LatencyProxyOptions;
const proxy = new LatencyProxy(spec);
const url = await proxy.start();
process.send?.({ type: "ready", url });
process.on("message", (message: { type?: string }) => {
  if (message.type === "held") process.send?.({ type: "held", held: proxy.held });
});
const stop = (): void => void proxy.stop().then(() => process.exit(0));
process.on("disconnect", stop);
process.on("SIGTERM", stop);
