import { Duration } from "aws-cdk-lib";
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  MathExpression,
  Stats,
  TreatMissingData,
} from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { ITopic } from "aws-cdk-lib/aws-sns";
import { Construct } from "constructs";
import { alarmNamePrefix } from "./alarm-topic.ts";
import type { EventRelay } from "./event-relay.ts";
import type { TokenBroker } from "./token-broker.ts";

export interface TokenstreamAlarmsProps {
  readonly broker: TokenBroker;
  readonly relay: EventRelay;
  /**
   * Sessions each worker task keeps live (`redundancy`). LiveSessions is a per-task gauge, so the alarm
   * compares the minimum over all tasks with this: any one task below its target for 3 minutes alarms.
   */
  readonly redundancy: number;
  /**
   * Age of the oldest queued message that alarms (consumers are behind).
   * @default Duration.minutes(15)
   */
  readonly maxQueueAge?: Duration;
  /**
   * Messages waiting in a worker's send backlog (memory + on-disk spool) that alarm.
   * @default 10000
   */
  readonly maxBacklogDepth?: number;
  /**
   * Time from the worker accepting an event to SQS confirming it that alarms.
   * @default Duration.minutes(5)
   */
  readonly maxBacklogAge?: Duration;
  /**
   * Where alarm and OK notifications go.
   * @default - alarms without actions (visible on the dashboard and console only)
   */
  readonly topic?: ITopic;
}

/**
 * The alarms an operator of tokenstream must see: a recorded gap (events may be missing), anything in a
 * dead-letter queue, an event the worker could not queue, a session stopped for good, broker refusals and
 * channel evictions seen by the worker, broker mint failures, a lost audit record, fewer
 * live sessions than configured, and a backed-up queue.
 */
export class TokenstreamAlarms extends Construct {
  readonly gapRecorded: Alarm;
  readonly deadLetterQueueNotEmpty: Alarm;
  readonly scheduleDeadLetterQueueNotEmpty: Alarm;
  readonly workerDeadLettered: Alarm;
  readonly workerDeadLetterQueueNotEmpty: Alarm;
  readonly sessionsStopped: Alarm;
  readonly topicsRefused: Alarm;
  readonly silentSessions: Alarm;
  readonly malformedFrames: Alarm;
  readonly tokenRefusals: Alarm;
  readonly channelEvictions: Alarm;
  readonly mintFailures: Alarm;
  readonly auditWriteFailures: Alarm;
  readonly liveSessionsBelowTarget: Alarm;
  readonly queueAge: Alarm;
  readonly backlogDepth: Alarm;
  readonly backlogAge: Alarm;
  readonly brokerErrors: Alarm;
  readonly refreshErrors: Alarm;
  readonly brokerThrottles: Alarm;
  /** Only with the audit archive. */
  readonly auditArchiveFailures?: Alarm;

  constructor(scope: Construct, id: string, props: TokenstreamAlarmsProps) {
    super(scope, id);
    const { broker, relay } = props;
    this.#prefix = alarmNamePrefix(this);

    this.gapRecorded = this.#onAny(
      "GapRecorded",
      relay.metric("Gaps", { period: Duration.minutes(1), statistic: Stats.SUM }),
      "The worker recorded a window with no live session: events in it may be missing. The tokenstream.gap message on the queue names the interval and topics to back-fill.",
    );

    this.deadLetterQueueNotEmpty = this.#onAny(
      "DeadLetterQueueNotEmpty",
      relay.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: Stats.MAXIMUM,
      }),
      "Messages reached the event dead-letter queue: a consumer failed them maxReceiveCount times.",
    );

    this.scheduleDeadLetterQueueNotEmpty = this.#onAny(
      "ScheduleDeadLetterQueueNotEmpty",
      broker.scheduleDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: Stats.MAXIMUM,
      }),
      "A scheduled token refresh could not be delivered to the broker or failed after retries.",
    );

    this.workerDeadLettered = this.#onAny(
      "WorkerDeadLettered",
      relay.metric("DeadLettered", { period: Duration.minutes(1), statistic: Stats.SUM }),
      "The worker could not put a message on the queue at all (refused by SQS as invalid, or larger than 1 MiB with no offload bucket configured) and sent a dead-letter record (key, topic, CorrelationId, reason, as much of the event as fits) to Relay/WorkerDeadLetterQueue. Back-fill the event through the Genesys REST API. A log line with code dead_letter_queue_failed means the record is only in dead-letter.jsonl on the task's storage.",
    );

    this.workerDeadLetterQueueNotEmpty = this.#onAny(
      "WorkerDeadLetterQueueNotEmpty",
      relay.workerDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: Stats.MAXIMUM,
      }),
      "Dead-letter records are waiting in Relay/WorkerDeadLetterQueue (kept 14 days): events the worker could not queue. Stays in alarm until an operator has read (and deleted) every record.",
    );

    this.sessionsStopped = this.#onAny(
      "SessionsStopped",
      relay.metric("SessionsStopped", { period: Duration.minutes(1), statistic: Stats.SUM }),
      "A worker session stopped for good after a permanent failure (invalid_client, 403 on a topic, unknown profile); the other sessions keep running but redundancy is reduced until the cause is fixed and the task restarted. The error log line with code session_stopped names the cause.",
    );

    this.topicsRefused = this.#onAny(
      "TopicsRefused",
      relay.metric("TopicsRefused", { period: Duration.minutes(1), statistic: Stats.SUM }),
      "The upstream refused (or silently dropped) a worker's subscription to some topics, usually a permission missing from the OAuth client's role; the other topics keep flowing. The error log line with code topics_refused names the topics; a tokenstream.gap message per topic names the uncovered interval once it is covered again (retried every REFUSED_TOPIC_RETRY_MS).",
    );

    this.silentSessions = this.#onAny(
      "SilentSessions",
      relay.metric("SilentSessions", { period: Duration.minutes(1), statistic: Stats.SUM }),
      "A worker session missed events its peers delivered (a silenced channel or revoked token) and was replaced; its coverage was withdrawn back to its last event, so any interval nobody delivered is a recorded gap.",
    );

    this.malformedFrames = this.#onAny(
      "MalformedFrames",
      relay.metric("MalformedFrames", { period: Duration.minutes(1), statistic: Stats.SUM }),
      "A worker dropped upstream frames it could not take as events (not JSON, no topicName, binary, or larger than MAX_FRAME_BYTES): if any was an event, it is not on the queue. The warn log line 'malformed frame dropped' gives the code and size per frame; back-fill the interval through the Genesys REST API.",
    );

    this.tokenRefusals = this.#onAny(
      "TokenRefusals",
      relay.metric("TokenRefusals", { period: Duration.minutes(1), statistic: Stats.SUM }),
      "The broker answered a worker's token request 403/404 without a permanent error code (SigV4 clock skew, an IAM change propagating, a deploy in progress): the slot retries with back-off and stops for good only after MAX_CONSECUTIVE_TOKEN_REFUSALS in a row (SessionsStopped). The error log line with code token_refused names the broker's error code.",
    );

    this.channelEvictions = this.#onAny(
      "ChannelEvictions",
      relay.metric("ChannelEvictions", { period: Duration.minutes(1), statistic: Stats.SUM }),
      "A worker's live Genesys channels keep dying before their expiry while it holds no more than the 20 channels per OAuth client: another consumer of the same OAuth client is creating channels and evicting them. The worker backs off instead of evicting back; give each consumer its own OAuth client. The error log line with code channel_eviction_backoff has the details.",
    );

    this.mintFailures = this.#onAny(
      "MintFailures",
      broker.metric("MintFailures", { period: Duration.minutes(5), statistic: Stats.SUM }),
      "The broker failed to mint a token (identity provider down, 429s, or invalid_client: check the credentials secret). Cached tokens are still served while valid.",
    );

    this.auditWriteFailures = this.#onAny(
      "AuditWriteFailures",
      broker.metric("AuditWriteFailures", { period: Duration.minutes(5), statistic: Stats.SUM }),
      "The broker could not write an audit item (DynamoDB error or throttling): the audit trail is missing an entry. Compare with the broker's logs for the same request ids.",
    );

    this.liveSessionsBelowTarget = new Alarm(this, "LiveSessionsBelowTarget", {
      alarmName: this.#name("LiveSessionsBelowTarget"),
      alarmDescription: `A worker task had fewer than ${props.redundancy} live sessions for 3 minutes (or no worker metrics arrived at all): redundancy is lost and a gap is one failure away.`,
      metric: relay.metric("LiveSessions", { period: Duration.minutes(1), statistic: Stats.MINIMUM }),
      threshold: props.redundancy,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
      // No metric means no worker reporting: that is the worst case, not a quiet one.
      treatMissingData: TreatMissingData.BREACHING,
    });

    const maxQueueAge = props.maxQueueAge ?? Duration.minutes(15);
    this.queueAge = new Alarm(this, "QueueAge", {
      alarmName: this.#name("QueueAge"),
      alarmDescription: `The oldest event waited more than ${maxQueueAge.toSeconds()} s: consumers are behind or stopped.`,
      metric: relay.queue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(1),
        statistic: Stats.MAXIMUM,
      }),
      threshold: maxQueueAge.toSeconds(),
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const maxBacklogDepth = props.maxBacklogDepth ?? 10_000;
    this.backlogDepth = new Alarm(this, "BacklogDepth", {
      alarmName: this.#name("BacklogDepth"),
      alarmDescription: `A worker task held more than ${maxBacklogDepth} messages not yet accepted by SQS (memory buffer plus on-disk spool) for 3 minutes: SQS is unreachable or throttling, and the spool on the task's storage is growing.`,
      metric: relay.metric("BufferDepth", { period: Duration.minutes(1), statistic: Stats.MAXIMUM }),
      threshold: maxBacklogDepth,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    const maxBacklogAge = props.maxBacklogAge ?? Duration.minutes(5);
    this.backlogAge = new Alarm(this, "BacklogAge", {
      alarmName: this.#name("BacklogAge"),
      alarmDescription: `An event waited more than ${maxBacklogAge.toSeconds()} s between the worker accepting it and SQS confirming it (measured when it is delivered; an outage that has not ended shows as BacklogDepth).`,
      metric: relay.metric("SinkLatencyMsMax", { period: Duration.minutes(1), statistic: Stats.MAXIMUM }),
      threshold: maxBacklogAge.toMilliseconds(),
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    this.brokerErrors = this.#onAny(
      "BrokerErrors",
      broker.function.metricErrors({ period: Duration.minutes(5), statistic: Stats.SUM }),
      "The broker's Function URL function threw or timed out.",
    );
    this.refreshErrors = this.#onAny(
      "RefreshErrors",
      broker.refreshFunction.metricErrors({ period: Duration.minutes(5), statistic: Stats.SUM }),
      "The broker's scheduled refresh failed for at least one profile (its log names the profile and error code); tokens are still served while valid.",
    );
    this.brokerThrottles = this.#onAny(
      "BrokerThrottles",
      new MathExpression({
        expression: "url + refresh",
        usingMetrics: {
          url: broker.function.metricThrottles({ period: Duration.minutes(5), statistic: Stats.SUM }),
          refresh: broker.refreshFunction.metricThrottles({
            period: Duration.minutes(5),
            statistic: Stats.SUM,
          }),
        },
        period: Duration.minutes(5),
        label: "broker throttles",
      }),
      "Lambda throttled the broker (reserved concurrency or the account's concurrency limit): callers got 429s and a worker could not get or refresh a token.",
    );

    if (broker.auditArchive) {
      this.auditArchiveFailures = this.#onAny(
        "AuditArchiveFailures",
        broker.auditArchive.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: Stats.MAXIMUM,
        }),
        "Audit-table changes could not be copied to the Object Lock archive after retries: the message names the stream records; copy them from the table (or point-in-time recovery) before they are gone.",
      );
    }

    if (props.topic) {
      const action = new SnsAction(props.topic);
      for (const alarm of this.all()) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }

  /** Alarms on the first occurrence of something that must never go unnoticed; no data is quiet. */
  #onAny(id: string, metric: IMetric, description: string): Alarm {
    return new Alarm(this, id, {
      alarmName: this.#name(id),
      alarmDescription: description,
      metric,
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
  }

  readonly #prefix: string;

  /** `<stack name>-<id>`: the alarm topic's policies name this stack's alarms by that prefix. */
  #name(id: string): string {
    return `${this.#prefix}${id}`;
  }

  /** Every alarm defined here (found, not listed, so a new alarm cannot miss the topic or the dashboard). */
  all(): Alarm[] {
    return this.node.children.filter((child): child is Alarm => child instanceof Alarm);
  }
}
