/** Genesys Cloud notifications REST API under /api/v2/notifications, bearer-token authenticated. */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Channel, ChannelStore } from "./channels.ts";
import type { FaultQueue } from "./fault-queue.ts";
import { applyFault, genesysError, readBody, sendEmpty, sendJson } from "./http-util.ts";
import type { Permissions } from "./permissions.ts";
import { planSubscription } from "./subscriptions.ts";
import type { TokenRecord, TokenStore } from "./tokens.ts";
import type { SimulatorCounters } from "./types.ts";

export interface RestDeps {
  permissions: Permissions;
  tokens: TokenStore;
  channels: ChannelStore;
  counters: SimulatorCounters;
  channelCreateFaults: FaultQueue;
  subscriptionFaults: FaultQueue;
  maxTopicsPerChannel: number;
  /** ws://host:port */
  wsBaseUrl: string;
  signal: AbortSignal;
}

const PREFIX = "/api/v2/notifications/channels";

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match?.[1];
}

function channelJson(channel: Channel, deps: RestDeps) {
  return {
    id: channel.id,
    connectUri: `${deps.wsBaseUrl}/channels/${channel.id}`,
    expires: new Date(channel.expiresAt).toISOString(),
  };
}

/**
 * ChannelTopicEntityListing. With ignoreErrors=true, refused topics are listed too, as the SDK models
 * describe a ChannelTopic: `state` "Permitted" | "Rejected" and a `rejectionReason` (its wording is not
 * documented; the simulator's is its own).
 */
function topicsJson(channel: Channel, hubTopics: ReadonlySet<string>, rejected: readonly string[] = []) {
  const selfUri = `${PREFIX}/${channel.id}/subscriptions`;
  const permitted = [...hubTopics].map((id) =>
    rejected.length > 0 ? { id, state: "Permitted", selfUri } : { id, selfUri },
  );
  const refused = rejected.map((id) => ({
    id,
    state: "Rejected",
    rejectionReason: "Missing permission for this topic",
    selfUri,
  }));
  return { entities: [...permitted, ...refused] };
}

function notFound(res: ServerResponse, method: string | undefined) {
  if (method === "HEAD") return sendEmpty(res, 404);
  sendJson(res, 404, genesysError(404, "not.found", "channel not found"));
}

export async function handleRest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  deps: RestDeps,
): Promise<void> {
  deps.counters.restRequests++;
  const rest = url.pathname.slice(PREFIX.length);
  const parts = rest.split("/").filter((part) => part !== "");
  const isCreate = parts.length === 0 && req.method === "POST";
  const isSubscriptions = parts.length === 2 && parts[1] === "subscriptions";

  const faults = isCreate ? deps.channelCreateFaults : isSubscriptions ? deps.subscriptionFaults : undefined;
  const fault = faults?.take();
  if (fault) {
    const done = await applyFault(res, fault, "genesys", deps.signal);
    if (done || deps.signal.aborted) return;
  }

  const token = bearerToken(req.headers.authorization);
  const caller = token === undefined ? undefined : deps.tokens.validate(token);
  if (!caller) {
    deps.counters.restUnauthorized++;
    if (req.method === "HEAD") return sendEmpty(res, 401);
    return sendJson(res, 401, genesysError(401, "bad.credentials", "Invalid login credentials."));
  }

  if (parts.length === 0) {
    if (req.method === "POST") return createChannel(res, caller, deps);
    if (req.method === "GET") return listChannels(res, url, caller, deps);
    return methodNotAllowed(res);
  }
  const channel = deps.channels.get(parts[0]!);
  const visible = channel !== undefined && channel.clientId === caller.clientId;
  if (parts.length === 1) {
    if (req.method === "HEAD" || req.method === "GET") {
      if (!visible) return notFound(res, req.method);
      if (req.method === "HEAD") return sendEmpty(res, 200);
      return sendJson(res, 200, channelJson(channel, deps));
    }
    return methodNotAllowed(res);
  }
  if (!isSubscriptions) return notFound(res, req.method);
  if (!visible) return notFound(res, req.method);
  return subscriptions(req, res, url, channel, caller, deps);
}

function methodNotAllowed(res: ServerResponse): void {
  sendJson(res, 405, genesysError(405, "method.not.allowed", "method not allowed"));
}

function createChannel(res: ServerResponse, caller: TokenRecord, deps: RestDeps) {
  const created = deps.channels.create(caller.clientId, caller.fingerprint);
  if (!created.ok) {
    return sendJson(
      res,
      400,
      genesysError(
        400,
        "notification.channel.limit",
        "The maximum number of notification channels has been reached and all of them have an active connection",
      ),
    );
  }
  sendJson(res, 200, channelJson(created.channel, deps));
}

function listChannels(res: ServerResponse, url: URL, caller: TokenRecord, deps: RestDeps): void {
  // Upstream default is the caller's token; includechannels=oauthclient lists the whole client's.
  const scope = url.searchParams.get("includechannels") ?? "token";
  const channels =
    scope === "oauthclient"
      ? deps.channels.ofClient(caller.clientId)
      : deps.channels.ofToken(caller.fingerprint);
  sendJson(res, 200, { entities: channels.map((channel) => channelJson(channel, deps)) });
}

async function subscriptions(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  channel: Channel,
  caller: TokenRecord,
  deps: RestDeps,
): Promise<void> {
  const store = deps.channels;
  const current = store.topicsOf(channel);
  if (req.method === "GET") return sendJson(res, 200, topicsJson(channel, current));
  if (req.method === "DELETE") {
    store.setTopics(channel, []);
    deps.counters.subscriptionsDeleted++;
    return sendEmpty(res, 204);
  }
  if (req.method !== "PUT" && req.method !== "POST") return methodNotAllowed(res);
  let body: unknown;
  try {
    body = JSON.parse(await readBody(req));
  } catch {
    deps.counters.subscriptionsRejected++;
    return sendJson(res, 400, genesysError(400, "bad.request", "body is not valid JSON"));
  }
  const plan = planSubscription(req.method === "PUT" ? "replace" : "add", current, body, {
    deniedTopics: deps.permissions.deniedFor(caller.clientId),
    ignoreErrors: url.searchParams.get("ignoreErrors") === "true",
    maxTopics: deps.maxTopicsPerChannel,
  });
  if (!plan.ok) {
    deps.counters.subscriptionsRejected++;
    return sendJson(res, plan.status, genesysError(plan.status, plan.code, plan.message));
  }
  if (deps.channels.get(channel.id) !== channel) return notFound(res, req.method);
  store.setTopics(channel, plan.topics);
  store.extend(channel);
  if (req.method === "PUT") deps.counters.subscriptionsPut++;
  else deps.counters.subscriptionsPost++;
  sendJson(res, 200, topicsJson(channel, store.topicsOf(channel), plan.rejected));
}
