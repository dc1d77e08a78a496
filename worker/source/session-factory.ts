/** Builds the configured kind of session; ids are unique per worker (the de-duplicator keys on them). */
import type { WorkerToken } from "../token/token-source.ts";
import { GenericSession, type TokenPlacement } from "./generic-session.ts";
import { GenesysRest } from "./genesys-rest.ts";
import { GenesysSession } from "./genesys-session.ts";
import type { Session, SessionFactory } from "./session.ts";

export type SourceSettings =
  | { kind: "genesys"; apiUrl: string; maxTopicsPerChannel?: number }
  | { kind: "generic"; streamUrl: string; tokenPlacement?: TokenPlacement };

export interface SessionFactoryOptions {
  source: SourceSettings;
  topics: readonly string[];
  heartbeatTimeoutMs: number;
  maxFrameBytes?: number;
  restTimeoutMs?: number;
  /** Genesys channel probe interval (0 = off). */
  probeIntervalMs?: number;
  refusedTopicRetryMs?: number;
}

export function createSessionFactory(opts: SessionFactoryOptions): SessionFactory {
  let seq = 0;
  const rest =
    opts.source.kind === "genesys"
      ? new GenesysRest({ apiUrl: opts.source.apiUrl, timeoutMs: opts.restTimeoutMs })
      : undefined;
  return {
    create(token: WorkerToken, label: string): Session {
      const id = `${label}#${++seq}`;
      const source = opts.source;
      if (source.kind === "genesys" && rest) {
        return new GenesysSession({
          id,
          token,
          topics: opts.topics,
          rest,
          heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
          maxTopicsPerChannel: source.maxTopicsPerChannel,
          maxFrameBytes: opts.maxFrameBytes,
          probeIntervalMs: opts.probeIntervalMs,
          refusedTopicRetryMs: opts.refusedTopicRetryMs,
        });
      }
      if (source.kind === "generic") {
        return new GenericSession({
          id,
          token,
          streamUrl: source.streamUrl,
          topics: opts.topics,
          tokenPlacement: source.tokenPlacement,
          heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
          maxFrameBytes: opts.maxFrameBytes,
        });
      }
      throw new Error("unreachable source kind");
    },
  };
}
