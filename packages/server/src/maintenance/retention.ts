import type { Sql } from '@charter/db';
import type { PendingQuery, Row } from 'postgres';

/** How long each kind of bookkeeping is kept before the purge deletes it. */
export interface Retention {
  /** Access-log rows of authenticated requests. Default 30 days. */
  accessLogDays: number;
  /** The per-minute counts of requests without a valid key (`unauthenticated_requests`). Default 30 days. */
  unauthenticatedLogDays: number;
  /** Per-minute usage roll-ups behind `GET /api-keys/{key_id}/usage`. Default 90 days. */
  usageDays: number;
  /** How long a stored Idempotency-Key response is replayed, then purged. Default and minimum 24 hours (the API promises 24). */
  idempotencyHours: number;
  /** Rate-limit counter windows. Default 48 hours; at least 24, so that a day's quota window outlives its day. */
  counterHours: number;
  /**
   * Finished webhook deliveries (`success`, `failed`) with their attempts, counted from when they
   * finished, and events none of whose deliveries is left. Default 30 days, as Stripe and Svix keep
   * events. Deliveries still `pending` or `retrying` are never purged, however old.
   */
  webhookDays: number;
}

export const DEFAULT_RETENTION: Readonly<Retention> = {
  accessLogDays: 30,
  unauthenticatedLogDays: 30,
  usageDays: 90,
  idempotencyHours: 24,
  counterHours: 48,
  webhookDays: 30,
};

/** The least each setting may be: below these the API would break a promise. */
export const MIN_RETENTION: Readonly<Retention> = {
  accessLogDays: 1,
  unauthenticatedLogDays: 1,
  usageDays: 1,
  idempotencyHours: 24,
  counterHours: 24,
  webhookDays: 1,
};

/** The defaults with `overrides` applied; throws, naming the setting, on a value below its minimum. */
export function resolveRetention(overrides: Partial<Retention> = {}): Retention {
  const retention = { ...DEFAULT_RETENTION, ...overrides };
  for (const name of Object.keys(DEFAULT_RETENTION) as (keyof Retention)[]) {
    const value = retention[name];
    if (!Number.isInteger(value) || value < MIN_RETENTION[name]) {
      throw new RangeError(`retention.${name} must be a whole number of at least ${MIN_RETENTION[name]}, not ${value}.`);
    }
  }
  return retention;
}

/** Rows deleted per table by one purge. */
export type PurgeCounts = Record<
  | 'access_logs'
  | 'unauthenticated_requests'
  | 'usage_minutes'
  | 'idempotency_keys'
  | 'rate_limit_counters'
  | 'webhook_attempts'
  | 'webhook_deliveries'
  | 'webhook_events',
  number
>;

export interface PurgeOptions {
  /** Rows deleted per statement. Default 5,000. */
  batchSize?: number;
  /** Stops the purge between two statements (at shutdown); the rest waits for the next run. */
  signal?: AbortSignal;
}

/**
 * Deletes everything past its retention. Each table is purged in statements of at most
 * `batchSize` rows, each its own transaction, so that a large backlog never holds locks for
 * long nor blocks the writers of new rows; every statement finds its rows through an index on
 * the age column. Idempotency records carry their own expiry (`expires_at`, set from
 * `idempotencyHours` when the key is claimed).
 *
 * Webhook data goes attempts first, then their deliveries, then events left with no delivery, so
 * that no statement deletes more than `batchSize` rows through a cascade. A finished delivery is
 * never touched again (a manual retry refuses it, the worker claims only pending and retrying
 * ones), and an event gets deliveries only in the transaction that records it: nothing the purge
 * deletes can be in use.
 */
export async function purgeExpired(sql: Sql, retention: Retention, options: PurgeOptions = {}): Promise<PurgeCounts> {
  const batchSize = options.batchSize ?? 5_000;
  // Finished: its status is final and its last update (when it finished) is past the retention.
  const finishedDelivery = () => sql`status in ('success', 'failed') and updated_at < now() - make_interval(days => ${retention.webhookDays})`;
  // Table, primary key, and the condition of an expired row (a fresh fragment for each statement).
  const purges: [keyof PurgeCounts, string[], () => PendingQuery<Row[]>][] = [
    ['access_logs', ['id'], () => sql`created_at < now() - make_interval(days => ${retention.accessLogDays})`],
    [
      'unauthenticated_requests',
      ['minute', 'client_address', 'method', 'status'],
      () => sql`minute < now() - make_interval(days => ${retention.unauthenticatedLogDays})`,
    ],
    ['usage_minutes', ['key_id', 'minute'], () => sql`minute < now() - make_interval(days => ${retention.usageDays})`],
    ['idempotency_keys', ['key_id', 'idempotency_key'], () => sql`expires_at <= now()`],
    ['rate_limit_counters', ['subject', 'window_kind', 'window_start'], () => sql`window_start < now() - make_interval(hours => ${retention.counterHours})`],
    ['webhook_attempts', ['delivery_id', 'attempt'], () => sql`delivery_id in (select id from webhook_deliveries where ${finishedDelivery()})`],
    ['webhook_deliveries', ['id'], finishedDelivery],
    [
      'webhook_events',
      ['id'],
      () => sql`created_at < now() - make_interval(days => ${retention.webhookDays})
        and not exists (select 1 from webhook_deliveries delivery where delivery.event_id = webhook_events.id)`,
    ],
  ];
  const counts = {} as PurgeCounts;
  for (const [table, key, expired] of purges) {
    counts[table] = 0;
    for (;;) {
      if (options.signal?.aborted) return counts;
      const deleted = await sql`
        delete from ${sql(table)} where (${sql(key)}) in (
          select ${sql(key)} from ${sql(table)} where ${expired()} limit ${batchSize}
        )`;
      counts[table] += deleted.count;
      if (deleted.count < batchSize) break;
    }
  }
  return counts;
}
