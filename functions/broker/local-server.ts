import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { BrokerProfile } from "../../shared/contracts.ts";
import { MemoryTokenStore } from "./adapters/memory-token-store.ts";
import { CountingMetrics, powertoolsLog } from "./adapters/powertools.ts";
import { StaticCredentials } from "./adapters/static-credentials.ts";
import { composeBroker } from "./composition.ts";
import type { BrokerConfig } from "./config.ts";
import type { Broker } from "./core/broker.ts";
import type { FunctionUrlEvent, FunctionUrlResult } from "./core/events.ts";
import type {
  BrokerLog,
  BrokerMetrics,
  ClientCredentials,
  Clock,
  CredentialsSource,
  TokenCacheStore,
} from "./core/ports.ts";

export interface LocalIdentity {
  userArn: string;
  accountId: string;
}

export interface LocalBrokerOptions {
  profiles: BrokerProfile[];
  /** DynamoDB (dynalite locally) holding the lease and audit tables. */
  dynamo: DynamoDBClient;
  auditTable: string;
  leaseTable: string;
  /** Token cache; default: a fresh MemoryTokenStore. */
  tokenStore?: TokenCacheStore;
  /** Client id/secret per profile name, or any CredentialsSource. */
  credentials: Record<string, ClientCredentials> | CredentialsSource;
  /** Default 0 (any free port). Always bound to 127.0.0.1. */
  port?: number;
  /** The caller every request is attributed to (Lambda would take it from the verified IAM signature). */
  identity?: LocalIdentity;
  refreshAtFraction?: number;
  minValidityFraction?: number;
  leaseMs?: number;
  idpTimeoutMs?: number;
  auditRetentionDays?: number;
  /** Default: Powertools Logger (JSON lines on stdout; POWERTOOLS_LOG_LEVEL applies). */
  log?: BrokerLog;
  /** Default: in-memory counters (returned as `metrics`). */
  metrics?: BrokerMetrics;
  clock?: Clock;
  fetch?: typeof fetch;
}

export interface LocalBroker {
  url: string;
  close(): Promise<void>;
  broker: Broker;
  metrics: BrokerMetrics;
}

export const DEFAULT_LOCAL_IDENTITY: LocalIdentity = {
  userArn: "arn:aws:iam::000000000000:user/local-developer",
  accountId: "000000000000",
};

const MAX_BODY_BYTES = 16 * 1024;

function isCredentialsSource(value: LocalBrokerOptions["credentials"]): value is CredentialsSource {
  return typeof (value as CredentialsSource).get === "function";
}

/**
 * The broker behind a plain HTTP server on 127.0.0.1: each request becomes the Function URL event Lambda
 * would deliver (with `identity` as the verified IAM caller) and goes through the same core as in AWS.
 */
export async function startLocalBroker(options: LocalBrokerOptions): Promise<LocalBroker> {
  const config: BrokerConfig = {
    profiles: options.profiles,
    auditTable: options.auditTable,
    leaseTable: options.leaseTable,
    refreshAtFraction: options.refreshAtFraction ?? 0.75,
    minValidityFraction: options.minValidityFraction ?? 0.25,
    auditRetentionDays: options.auditRetentionDays ?? 400,
    idpTimeoutMs: options.idpTimeoutMs ?? 5000,
    leaseMs: options.leaseMs ?? 15000,
    serviceName: "token-broker-local",
    metricsNamespace: "tokenstream",
  };
  const metrics = options.metrics ?? new CountingMetrics();
  const { broker } = composeBroker(config, {
    dynamo: options.dynamo,
    tokenStore: options.tokenStore ?? new MemoryTokenStore(),
    credentials: isCredentialsSource(options.credentials)
      ? options.credentials
      : new StaticCredentials(options.credentials),
    log: options.log ?? powertoolsLog(config.serviceName),
    metrics,
    clock: options.clock,
    fetch: options.fetch,
  });
  const identity = options.identity ?? DEFAULT_LOCAL_IDENTITY;

  const server = createServer((req, res) => {
    serve(req, res, broker, identity).catch(() => {
      if (!res.headersSent)
        res.writeHead(500, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      res.end(JSON.stringify({ error: { code: "internal", message: "internal error" } }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    broker,
    metrics,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, broker: Broker, identity: LocalIdentity) {
  const body = await readBody(req);
  if (body === undefined) {
    res.writeHead(413, { "Content-Type": "application/json", "Cache-Control": "no-store" });
    res.end(JSON.stringify({ error: { code: "bad_request", message: "body too large" } }));
    return;
  }
  const result = (await broker.handle(toFunctionUrlEvent(req, body, identity))) as FunctionUrlResult;
  res.writeHead(result.statusCode, result.headers);
  res.end(result.body);
}

/** The Function URL (API Gateway v2) event for a local HTTP request. */
export function toFunctionUrlEvent(
  req: IncomingMessage,
  body: string,
  identity: LocalIdentity,
): FunctionUrlEvent {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) query[key] = value;
  const method = (req.method ?? "GET").toUpperCase();
  return {
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers: Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : v]),
    ),
    queryStringParameters: Object.keys(query).length > 0 ? query : undefined,
    body: body.length > 0 ? body : undefined,
    isBase64Encoded: false,
    requestContext: {
      requestId: randomUUID(),
      http: { method, path: url.pathname, sourceIp: req.socket.remoteAddress ?? "127.0.0.1" },
      authorizer: { iam: { userArn: identity.userArn, accountId: identity.accountId, callerId: "local" } },
    },
  };
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
