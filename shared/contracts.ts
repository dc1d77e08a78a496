/**
 * Contracts between the parts of tokenstream (DESIGN.md sections 1, 3, 4).
 * Wire formats only: no I/O, no behaviour. Every part imports these instead of restating them.
 */

/** Genesys Cloud notification envelope, exactly as upstream sends it. */
export interface NotificationEnvelope {
  topicName: string;
  version?: string;
  eventBody: unknown;
  metadata?: { CorrelationId?: string; [key: string]: unknown };
}

/** `GET /token` and `POST /token/refresh` success body. `expiresAt` is ISO-8601 UTC. */
export interface BrokerTokenResponse {
  accessToken: string;
  expiresAt: string;
  fingerprint: string;
  /** Secrets Manager version id of the cached token (or the local store's equivalent). */
  version: string;
}

/** `POST /token/refresh` request body: compare-and-swap on the rejected token. */
export interface BrokerRefreshRequest {
  profile: string;
  rejectedFingerprint: string;
  /** Token lane (0 when absent): redundant sessions hold tokens of different lanes. */
  lane?: number;
}

/** Every broker 4xx/5xx body. `code` is stable and documented; `message` never carries a secret. */
export interface BrokerErrorResponse {
  error: { code: BrokerErrorCode; message: string; requestId?: string };
}

export type BrokerErrorCode =
  | "unauthenticated"
  | "forbidden"
  | "unknown_profile"
  | "bad_request"
  | "method_not_allowed"
  | "not_found"
  | "idp_unavailable"
  | "idp_invalid_client"
  | "token_unavailable"
  | "internal";

/** Token as the cache secret stores it (JSON in SecretString). Times are ISO-8601 UTC. */
export interface CachedToken {
  accessToken: string;
  expiresAt: string;
  issuedAt: string;
  fingerprint: string;
}

/** Broker profile: one per OAuth client (PROFILES env var is a JSON array of these). */
export interface BrokerProfile {
  name: string;
  /** Base URL of the identity provider, e.g. https://login.mypurecloud.com; the broker posts to `${loginUrl}/oauth/token`. */
  loginUrl: string;
  /** Operator-created secret holding `{"clientId":"...","clientSecret":"..."}`. */
  credentialsSecretArn: string;
  /** Broker-owned secret holding the CachedToken JSON. */
  tokenSecretArn: string;
  /**
   * IAM principals allowed to obtain this profile's token (functions/broker/core/authorization.ts): ARNs or
   * ARN patterns with `*`; a role ARN also matches that role's sessions. The Lambda requires the list (an empty
   * one refuses everyone); in-process brokers that omit it (tests, `npm start`) serve every verified caller.
   */
  allowedPrincipals?: string[];
  /**
   * Token lanes (shared/token-lanes.ts): lane 0 is cached in `tokenSecretArn`, lane n in the secret named
   * by the broker's lane-secret prefix. Default DEFAULT_TOKEN_LANES.
   */
  lanes?: number;
}

export type AuditAction = "mint" | "rotation" | "handout" | "refusal" | "failure";
export type AuditOutcome = "success" | "denied" | "error";

/**
 * One append-only audit item (DynamoDB). Key: `pk` = `profile#<profile>`, `sk` = `<ISO time>#<requestId>#<n>`.
 * Never holds a token or a secret: only fingerprints.
 */
export interface AuditRecord {
  pk: string;
  sk: string;
  time: string;
  action: AuditAction;
  outcome: AuditOutcome;
  profile: string;
  /** Token lane the record concerns (0 = the profile's first lane); absent when the request named none validly. */
  lane?: number;
  requestId: string;
  callerArn?: string;
  callerAccount?: string;
  sourceIp?: string;
  fingerprint?: string;
  secretVersion?: string;
  expiresAt?: string;
  errorCode?: string;
  detail?: string;
  /** Epoch seconds; DynamoDB TTL attribute for the configured retention. */
  expiresAtEpoch?: number;
}

/** What the worker writes to SQS for each distinct event. */
export interface QueuedEventMessage {
  kind: "event";
  /**
   * Unique per emitted event (content hash prefix + worker instance + emission sequence): the FIFO
   * MessageDeduplicationId, so SQS never merges two distinct events, and a resend of this message is merged.
   */
  key: string;
  /** SHA-256 hex of topicName + canonical eventBody + CorrelationId: equal for events with identical content. */
  contentKey?: string;
  /**
   * Set when the worker could not tell whether this is a copy of an event it already delivered (it delivers
   * rather than risk dropping a distinct event); consumers that must not see duplicates check contentKey.
   */
  possibleDuplicate?: true;
  receivedAt: string;
  event: NotificationEnvelope;
}

/**
 * Key prefix of every offloaded event object (`<prefix>/<day>/<key>.json`); the worker's s3:PutObject is
 * limited to it.
 */
export const OFFLOAD_OBJECT_PREFIX = "tokenstream/oversized";

/** Written instead of QueuedEventMessage when the event is larger than an SQS message allows. */
export interface QueuedEventPointerMessage {
  kind: "event-pointer";
  key: string;
  contentKey?: string;
  possibleDuplicate?: true;
  receivedAt: string;
  topicName: string;
  bucket: string;
  objectKey: string;
  sizeBytes: number;
}

/** Any interval with zero live sessions: the topics whose events in [start, end) may be missing. */
export interface QueuedGapMessage {
  kind: "gap";
  topicName: "tokenstream.gap";
  start: string;
  end: string;
  durationMs: number;
  topics: string[];
}

export type QueuedMessage = QueuedEventMessage | QueuedEventPointerMessage | QueuedGapMessage;

/**
 * What the worker sends to its dead-letter queue (`DEAD_LETTER_QUEUE_URL`, a standard queue) for a message it
 * could deliver neither inline nor through the offload bucket: the event's identity, why, and as much of the
 * message as fits in one SQS message. Never a token (events carry none; `detail` never holds the body).
 */
export interface DeadLetterRecord {
  kind: "dead-letter";
  /** When the worker gave up on the message. */
  deadLetteredAt: string;
  /**
   * Stable code: `event_too_large` (larger than an SQS message, no offload bucket), an SQS error code (the
   * queue refused the message for good), `invalid_message`, `spool_line_invalid`, `sink_submit_failed`.
   */
  reason: string;
  /** The error's text (never the message body). */
  detail: string;
  /** `event`, `event-pointer`, `gap`, or `unknown` when the message could not be read. */
  messageKind: string;
  key?: string;
  contentKey?: string;
  topicName?: string;
  correlationId?: string;
  receivedAt?: string;
  /** Size of the whole message as SQS counts it (body plus attributes). */
  sizeBytes: number;
  /** false: `message` is the whole message. true: `messagePrefix` holds its first bytes (JSON text) only. */
  truncated: boolean;
  message?: QueuedMessage;
  messagePrefix?: string;
}
