import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Sql } from '@charter/db';
import { eventBody } from './outbox.ts';
import { DEFAULT_WEBHOOK_TIMEOUT_MS, type PostWebhookOptions, postWebhook, type WebhookOutcome } from './safe-http.ts';
import { DEFAULT_RETRY_POLICY, disabledReason, nextRetryDelayMs, type RetryPolicy, receiverRetryAfterMs } from './schedule.ts';
import { openSecret } from './secrets.ts';
import { webhookHeaders } from './signing.ts';

/**
 * The webhook worker: sends what the outbox holds (webhook_deliveries), records every attempt,
 * retries on the schedule and switches off endpoints that keep failing.
 *
 * Several processes share the work. A worker claims due deliveries in one short statement
 * (`FOR UPDATE SKIP LOCKED`, so claims never wait on each other) and takes a lease on them
 * (`locked_until`); it then sends, and records the outcome and clears the lease in one transaction,
 * only while the lease is still its own. So in normal operation no delivery is sent twice. A worker
 * that dies mid-delivery leaves its lease to expire, and the delivery is then claimed again and
 * sent again with the same `webhook-id`: at least once, and receivers drop repeats by that ID.
 *
 * It waits for work without polling in a loop: on a PostgreSQL server it LISTENs on
 * `charter_webhooks`, which a trigger (migration 0007) notifies when a delivery becomes due now;
 * otherwise, and as a fallback for missed notifications, it sleeps until the next delivery falls
 * due, at most `pollIntervalMs`.
 */

/** The channel the delivery trigger notifies (migrations/0007_webhook_wakeup.sql). */
export const WEBHOOK_CHANNEL = 'charter_webhooks';

export interface WebhookWorkerOptions {
  sql: Sql;
  /** The key signing secrets are sealed under (see secrets.ts): the API's own. */
  sealingKey: Buffer;
  /** LISTEN for new deliveries. PostgreSQL servers only: the embedded database admits one connection. Default false. */
  listen?: boolean;
  /** The delivery call's settings: allowed hosts, deadline, response cap (and, for tests, the resolver). */
  http?: PostWebhookOptions;
  /** Retries, abandonment and auto-disable. Default: schedule.ts's. */
  policy?: RetryPolicy;
  /** Deliveries in flight at once in this process. Default 8. */
  concurrency?: number;
  /** How long a claim holds a delivery. Default: twice the call's deadline plus 5 s, so that a live worker always records before it ends. */
  leaseMs?: number;
  /** Longest sleep between looks for due work. Default 5 s when listening, 1 s otherwise. */
  pollIntervalMs?: number;
  /** This worker's name in `locked_by`. Default: host, process ID and a random suffix. */
  workerId?: string;
  logError?: (message: string, error: unknown) => void;
}

export interface WebhookWorker {
  /** Starts claiming and sending; resolves once it listens (when it does). */
  start(): Promise<void>;
  /** Stops claiming, lets the attempts in flight finish and record, then resolves. */
  stop(): Promise<void>;
  /** Look for due work now (say, right after writing a delivery in this process). */
  wake(): void;
  readonly workerId: string;
  /** Attempts this worker has made and recorded since it started. */
  readonly attempts: number;
}

interface Claimed {
  id: string;
  endpoint_id: string;
  attempt: number;
}

interface Loaded {
  event_id: string;
  type: string;
  workspace_id: string;
  data: unknown;
  created_at: Date;
  url: string;
  is_active: boolean;
  secrets: string[];
}

/** The shortest sleep between claims, so that nothing can make the loop spin. */
const MIN_SLEEP_MS = 25;

export function createWebhookWorker(options: WebhookWorkerOptions): WebhookWorker {
  const { sql, sealingKey } = options;
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const http = options.http ?? {};
  const concurrency = options.concurrency ?? 8;
  const leaseMs = options.leaseMs ?? 2 * (http.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS) + 5_000;
  const pollIntervalMs = options.pollIntervalMs ?? (options.listen ? 5_000 : 1_000);
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const logError = options.logError ?? ((message, error) => console.error(message, error));
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new Error('Webhook worker concurrency must be a whole number, at least 1.');

  const inFlight = new Set<Promise<void>>();
  let running = false;
  let loop: Promise<void> | undefined;
  let unlisten: (() => Promise<void>) | undefined;
  let wakeRequested = false;
  let wakeSleeper: (() => void) | undefined;
  let attemptsRecorded = 0;

  function wake(): void {
    wakeRequested = true;
    wakeSleeper?.();
  }

  function sleep(ms: number): Promise<void> {
    if (wakeRequested) {
      wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakeSleeper = undefined;
        wakeRequested = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakeSleeper = done;
    });
  }

  /** Takes up to `limit` due deliveries of active endpoints, leased to this worker. */
  function claim(limit: number): Promise<Claimed[]> {
    return sql<Claimed[]>`
      update webhook_deliveries d
      set locked_until = now() + make_interval(secs => ${leaseMs / 1000}), locked_by = ${workerId}
      from (
        select due.id from webhook_deliveries due
        join webhook_endpoints endpoint on endpoint.id = due.endpoint_id
        where due.status in ('pending', 'retrying') and due.next_attempt_at <= now()
          and (due.locked_until is null or due.locked_until < now())
          and endpoint.is_active
        order by due.next_attempt_at
        limit ${limit}
        for update of due skip locked
      ) claimed
      where d.id = claimed.id
      returning d.id, d.endpoint_id, d.attempt`;
  }

  /**
   * Milliseconds until the next unleased delivery of an active endpoint falls due, read in the
   * order of the due index. Another worker's lease running out is noticed within `pollIntervalMs`.
   */
  async function msUntilNextDue(): Promise<number> {
    const [row] = await sql<{ ms: number }[]>`
      select (extract(epoch from d.next_attempt_at - now()) * 1000)::float8 as ms
      from webhook_deliveries d
      where d.status in ('pending', 'retrying')
        and (d.locked_until is null or d.locked_until < now())
        and exists (select 1 from webhook_endpoints endpoint where endpoint.id = d.endpoint_id and endpoint.is_active)
      order by d.next_attempt_at
      limit 1`;
    return row?.ms ?? Number.POSITIVE_INFINITY;
  }

  async function run(): Promise<void> {
    while (running) {
      try {
        const free = concurrency - inFlight.size;
        if (free > 0) {
          const claimed = await claim(free);
          for (const delivery of claimed) launch(delivery);
          // All it asked for: there may be more, taken as soon as a slot frees.
          if (claimed.length === free) continue;
          await sleep(Math.max(MIN_SLEEP_MS, Math.min(pollIntervalMs, await msUntilNextDue())));
        } else {
          // Every slot busy: a finished delivery wakes the loop.
          await sleep(pollIntervalMs);
        }
      } catch (error) {
        logError('Webhook worker: could not claim deliveries; trying again shortly.', error);
        await sleep(pollIntervalMs);
      }
    }
  }

  function launch(delivery: Claimed): void {
    const work = deliver(delivery)
      .catch((error: unknown) => logError(`Webhook worker: delivery ${delivery.id} failed to record; its lease will expire and it will be sent again.`, error))
      .finally(() => {
        inFlight.delete(work);
        wake();
      });
    inFlight.add(work);
  }

  async function deliver(delivery: Claimed): Promise<void> {
    const [loaded] = await sql<Loaded[]>`
      select event.id as event_id, event.type, event.workspace_id, event.data, event.created_at,
        endpoint.url, endpoint.is_active,
        coalesce((
          select array_agg(encode(secret.sealed, 'base64') order by secret.expires_at is null desc, secret.created_at desc)
          from webhook_secrets secret
          where secret.endpoint_id = endpoint.id and (secret.expires_at is null or secret.expires_at > now())
        ), '{}') as secrets
      from webhook_deliveries d
      join webhook_events event on event.id = d.event_id
      join webhook_endpoints endpoint on endpoint.id = d.endpoint_id
      where d.id = ${delivery.id}`;
    // Deleted with its endpoint since the claim: nothing left to send or record.
    if (!loaded) return;
    if (!loaded.is_active) {
      // Switched off since the claim: hand it back untouched, to go out once it is back on.
      await sql`update webhook_deliveries set locked_until = null, locked_by = null where id = ${delivery.id} and locked_by = ${workerId}`;
      return;
    }
    let secrets: string[];
    try {
      secrets = loaded.secrets.map((sealed) => openSecret(sealingKey, delivery.endpoint_id, Buffer.from(sealed, 'base64')));
    } catch (error) {
      // This process's sealing key is not the one the secrets were sealed under: its own
      // misconfiguration, not the receiver's failure. Nothing is sent or counted; the lease runs
      // out and a worker that holds the right key takes the delivery.
      logError(`Webhook worker: cannot open the signing secrets of endpoint ${delivery.endpoint_id}; leaving delivery ${delivery.id} to another worker.`, error);
      return;
    }
    const outcome = await send(loaded, secrets);
    await record(delivery, outcome);
  }

  async function send(loaded: Loaded, secrets: string[]): Promise<WebhookOutcome> {
    if (secrets.length === 0) return { success: false, error: 'signing: the endpoint has no signing secret', response_time_ms: 0 };
    const body = eventBody({ id: loaded.event_id, type: loaded.type, workspace_id: loaded.workspace_id, data: loaded.data, created_at: loaded.created_at });
    return postWebhook(loaded.url, body, { ...webhookHeaders({ id: loaded.event_id, body, secrets }) }, http);
  }

  /** The attempt, the delivery's new state and the endpoint's counters, together, while the lease is still this worker's. */
  async function record(delivery: Claimed, outcome: WebhookOutcome): Promise<void> {
    const attempt = delivery.attempt + 1;
    const statusCode = 'status_code' in outcome ? outcome.status_code : null;
    // A receiver that answered 429 or 503 with Retry-After is not tried again before it asked.
    const askedMs = receiverRetryAfterMs(statusCode, 'retry_after' in outcome ? outcome.retry_after : undefined);
    const delayMs = outcome.success ? undefined : nextRetryDelayMs(policy, attempt, Math.random, askedMs);
    const status = outcome.success ? 'success' : delayMs === undefined ? 'failed' : 'retrying';
    // The receiver said it wants no more (Standard Webhooks: 410 Gone switches the endpoint off).
    const gone = statusCode === 410;
    const failed = !outcome.success;
    const switchOff = sql`${failed} and (${gone} or endpoint.consecutive_failures + 1 >= ${policy.disableAfterFailures})`;
    // One statement, so one round trip and atomic: the attempt and the counters are written only
    // when the delivery's update found the lease still this worker's. If the lease ran out and
    // another worker took the delivery over, its attempt is the one recorded.
    const [row] = await sql<{ recorded: number }[]>`
      with delivery as (
        update webhook_deliveries set
          attempt = ${attempt},
          status = ${status},
          next_attempt_at = case when ${status} = 'retrying' then now() + make_interval(secs => ${(delayMs ?? 0) / 1000}) end,
          response_code = ${statusCode},
          delivered_at = case when ${outcome.success} then now() end,
          locked_until = null,
          locked_by = null,
          updated_at = now()
        where id = ${delivery.id} and locked_by = ${workerId} and attempt = ${delivery.attempt}
        returning id, endpoint_id
      ), attempt as (
        insert into webhook_attempts (delivery_id, attempt, status_code, response_time_ms, response_body, error)
        select id, ${attempt}, ${statusCode}, ${outcome.response_time_ms},
          ${'response_body' in outcome ? outcome.response_body : null}, ${'error' in outcome ? outcome.error : null}
        from delivery
      ), counters as (
        update webhook_endpoints endpoint set
          success_count = endpoint.success_count + ${outcome.success ? 1 : 0},
          failure_count = endpoint.failure_count + ${failed ? 1 : 0},
          consecutive_failures = case when ${outcome.success} then 0 else endpoint.consecutive_failures + 1 end,
          last_delivery_at = now(),
          disabled_reason = case
            when endpoint.is_active and ${failed} and ${gone} then ${'The receiver answered 410 Gone: it wants no more deliveries. PATCH is_active: true switches it back on.'}
            when endpoint.is_active and ${switchOff} then ${disabledReason(policy.disableAfterFailures)}
            else endpoint.disabled_reason end,
          updated_at = case when endpoint.is_active and ${switchOff} then now() else endpoint.updated_at end,
          is_active = case when ${switchOff} then false else endpoint.is_active end
        from delivery
        where endpoint.id = delivery.endpoint_id
      )
      select count(*)::int as recorded from delivery`;
    const recorded = (row?.recorded ?? 0) > 0;
    if (recorded) attemptsRecorded += 1;
  }

  return {
    workerId,
    wake,
    get attempts() {
      return attemptsRecorded;
    },
    async start() {
      if (running) return;
      running = true;
      if (options.listen) {
        try {
          const listener = await sql.listen(WEBHOOK_CHANNEL, () => wake(), () => wake());
          unlisten = () => listener.unlisten();
        } catch (error) {
          logError(`Webhook worker: could not LISTEN on ${WEBHOOK_CHANNEL}; looking for work every ${pollIntervalMs} ms instead.`, error);
        }
      }
      loop = run();
    },
    async stop() {
      if (!running) return;
      running = false;
      wake();
      await loop;
      await Promise.allSettled([...inFlight]);
      await unlisten?.().catch(() => {});
    },
  };
}
