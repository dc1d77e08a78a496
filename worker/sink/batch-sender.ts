/**
 * One SendMessageBatch call and what it means for each entry: delivered, rejected for good (dead-letter
 * path), or to be retried. A batch rejected as a whole is split: its entries are then sent one by one.
 */
import { SendMessageBatchCommand, type SendMessageBatchResult, type SQSClient } from "@aws-sdk/client-sqs";
import type { Entry } from "./entry-buffer.ts";
import { classifyBatchError, classifyFailedEntry } from "./send-errors.ts";
import type { SendGate } from "./send-gate.ts";
import type { DeadLetterError } from "./sink-ports.ts";
import { bodyMd5Matches, INVALID_CHECKSUM } from "./sqs-client.ts";

export interface BatchOutcome {
  delivered: Entry[];
  rejected: { entry: Entry; error: DeadLetterError }[];
  /** Error code when some entries (or the whole call) must be retried after a backoff. */
  retryCode?: string;
  /** "entries_failed" (some entries in Failed[]) or "batch_failed" (the call failed). */
  retryWhat?: string;
  /** Lanes holding the entries to retry. */
  retryLanes: Set<string>;
  /** Entries now marked solo after a whole-batch rejection (nothing to back off for). */
  split: boolean;
  /** Groups in which a later entry was accepted while an earlier one is retried (order may bend). */
  orderBentGroups: string[];
}

export interface BatchTarget {
  sqs: SQSClient;
  queueUrl: string;
  requestTimeoutMs: number;
}

/**
 * Sends `batch`. With a `gate`, the request is serialised and signed now and written once the gate opens
 * (send-gate.ts); a cancelled gate ends the call with SendCancelled, nothing written.
 */
export async function sendBatch(target: BatchTarget, batch: Entry[], gate?: SendGate): Promise<BatchOutcome> {
  const command = new SendMessageBatchCommand({
    QueueUrl: target.queueUrl,
    Entries: batch.map((e, i) => ({ ...e.sqs.fields, Id: String(i) })),
  });
  if (gate) {
    // finalizeRequest, low priority: after the signing middleware, right before the request is written.
    command.middlewareStack.add(
      (next) => async (args) => {
        await gate.opened();
        return next(args);
      },
      { step: "finalizeRequest", priority: "low", name: "sinkSendGate" },
    );
  }
  let result: SendMessageBatchResult;
  try {
    result = await target.sqs.send(command, {
      abortSignal: gate ? gate.signal : AbortSignal.timeout(target.requestTimeoutMs),
    });
  } catch (err) {
    if (gate?.cancelled) throw err;
    return batchError(batch, err);
  } finally {
    gate?.finished();
  }
  return batchResult(batch, result);
}

function emptyOutcome(): BatchOutcome {
  return { delivered: [], rejected: [], retryLanes: new Set(), split: false, orderBentGroups: [] };
}

export function batchResult(batch: Entry[], result: SendMessageBatchResult): BatchOutcome {
  const out = emptyOutcome();
  const ok = new Map((result.Successful ?? []).map((s) => [s.Id, s.MD5OfMessageBody]));
  const failed = new Map((result.Failed ?? []).map((f) => [f.Id, f]));
  const retried = out.retryLanes;
  batch.forEach((e, i) => {
    const id = String(i);
    const accepted = ok.has(id);
    if (accepted && bodyMd5Matches(e.sqs.fields.MessageBody, ok.get(id))) {
      if (retried.has(e.laneKey)) out.orderBentGroups.push(e.laneKey);
      out.delivered.push(e);
      return;
    }
    const f = failed.get(id);
    const verdict = accepted
      ? { action: "retry" as const, code: INVALID_CHECKSUM }
      : f
        ? classifyFailedEntry(f)
        : { action: "retry" as const, code: "MissingFromResult" };
    if (verdict.action === "reject") {
      out.rejected.push({ entry: e, error: { code: verdict.code, message: f?.Message ?? verdict.code } });
    } else {
      out.retryCode = verdict.code;
      out.retryWhat = "entries_failed";
      retried.add(e.laneKey);
    }
  });
  return out;
}

export function batchError(batch: Entry[], err: unknown): BatchOutcome {
  const out = emptyOutcome();
  const { action, code } = classifyBatchError(err);
  if ((action === "split" || action === "reject") && batch.length > 1) {
    for (const e of batch) e.solo = true;
    out.split = true;
    out.retryCode = code;
    return out;
  }
  if (action === "split" || action === "reject") {
    out.rejected.push({ entry: batch[0]!, error: { code, message: messageOf(err) } });
    return out;
  }
  out.retryCode = code;
  out.retryWhat = "batch_failed";
  for (const e of batch) out.retryLanes.add(e.laneKey);
  return out;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
