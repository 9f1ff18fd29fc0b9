import { TIERS } from '@charter/contracts';
import type { Sql } from '@charter/db';
import { digestKey, digestsEqual, isWellFormedApiKey, type KeyMode } from '../auth/api-key.ts';
import { effectiveLimits, type Tier } from '@charter/contracts';
import type { Principal } from '../context.ts';
import { decide, policyState, type RateDecision } from './rate-limit.ts';

/**
 * Who may come in, and how often. The server asks it once per request; tests and benchmarks can
 * hand the server another implementation.
 */
export interface Gatekeeper {
  /**
   * Authenticates the presented key (see `presentedKey`) and counts the request against its
   * limits, atomically. Undefined when there is no valid key (nothing is counted for the key then).
   */
  admitKey(key: string | undefined): Promise<{ principal: Principal; decision: RateDecision } | undefined>;
  /** Counts a request without a valid key against its client address's limit. */
  admitAddress(address: string): Promise<RateDecision>;
}

interface AdmissionRow {
  id: string;
  workspace_id: string;
  scopes: string[];
  mode: KeyMode;
  tier: Tier;
  rate_limit_per_minute: number | null;
  burst: number | null;
  daily_quota: number | null;
  expires_at: Date | null;
  last_used_at: Date | null;
  digest: Buffer;
  in_grace: boolean;
  minute_count: number;
  minute_start: Date;
  day_count: number | null;
  day_start: Date;
  now: Date;
}

// Sent as text: postgres.js would JSON-encode a string bound to a jsonb parameter a second time.
const TIER_TABLE = JSON.stringify(TIERS);

/**
 * The PostgreSQL gatekeeper: authentication and both counters in one statement, so one round
 * trip per request, and exact across every process sharing the database (the upsert serialises
 * on the counter row). A request refused for the minute does not use up the daily quota.
 * Malformed keys and bad checksums are refused without touching the database; every well-formed
 * key costs the same statement whether it exists or not.
 */
export function postgresGatekeeper(sql: Sql, options: { addressLimitPerMinute: number }): Gatekeeper {
  return {
    async admitKey(key) {
      if (!key || !isWellFormedApiKey(key)) return undefined;
      const digest = digestKey(key);
      const [row] = await sql<AdmissionRow[]>`
        with key as (
          select k.id, k.workspace_id, k.scopes, k.mode, k.tier, k.rate_limit_per_minute, k.burst, k.daily_quota,
                 k.expires_at, k.last_used_at, s.digest, s.expires_at is not null as in_grace, t.per_minute
                   + coalesce(k.burst, floor(t.per_minute * t.burst_percent / 100)::int) as minute_cap
          from api_key_secrets s
          join api_keys k on k.id = s.key_id
          cross join lateral (
            select coalesce(k.rate_limit_per_minute, (${TIER_TABLE}::text::jsonb -> k.tier ->> 'perMinute')::int) as per_minute,
                   (${TIER_TABLE}::text::jsonb -> k.tier ->> 'burstPercent')::int as burst_percent
          ) t
          where s.digest = ${digest}
            and k.revoked_at is null
            and (s.expires_at is null or s.expires_at > now())
            and (k.expires_at is null or k.expires_at > now())
        ),
        minute as (
          insert into rate_limit_counters as c (subject, window_kind, window_start, count)
          select 'key:' || key.id, 'minute', date_trunc('minute', now()), 1 from key
          on conflict (subject, window_kind, window_start) do update set count = c.count + 1
          returning c.count, c.window_start
        ),
        day as (
          insert into rate_limit_counters as c (subject, window_kind, window_start, count)
          select 'key:' || key.id, 'day', date_trunc('day', now()), 1 from key, minute
          where key.daily_quota is not null and minute.count <= key.minute_cap
          on conflict (subject, window_kind, window_start) do update set count = c.count + 1
          returning c.count
        )
        select key.id, key.workspace_id, key.scopes, key.mode, key.tier, key.rate_limit_per_minute, key.burst,
               key.daily_quota, key.expires_at, key.last_used_at, key.digest, key.in_grace,
               minute.count as minute_count, minute.window_start as minute_start,
               coalesce((select count from day), (
                 select count from rate_limit_counters
                 where subject = 'key:' || key.id and window_kind = 'day' and window_start = date_trunc('day', now())
               ), 0) as day_count,
               date_trunc('day', now()) as day_start,
               now() as now
        from key cross join minute`;
      if (!row || !digestsEqual(row.digest, digest)) return undefined;
      const limits = effectiveLimits(row);
      const policies = [policyState('minute', limits.perMinute + limits.burst, row.minute_count, row.minute_start, 60, row.now)];
      if (row.daily_quota !== null) {
        policies.push(policyState('day', row.daily_quota, row.day_count ?? 0, row.day_start, 86_400, row.now));
      }
      return {
        principal: {
          keyId: row.id,
          workspaceId: row.workspace_id,
          scopes: row.scopes,
          mode: row.mode,
          perMinute: limits.perMinute,
          burst: limits.burst,
          dailyQuota: row.daily_quota,
          expiresAt: row.expires_at,
          // Only a rotation sets a secret's expiry: a secret with one is a previous secret in its grace.
          secretInGrace: row.in_grace,
          lastUsedAt: row.last_used_at,
        },
        decision: decide(policies),
      };
    },

    async admitAddress(address) {
      const [row] = await sql<{ count: number; window_start: Date; now: Date }[]>`
        insert into rate_limit_counters as c (subject, window_kind, window_start, count)
        values (${`ip:${address}`}, 'minute', date_trunc('minute', now()), 1)
        on conflict (subject, window_kind, window_start) do update set count = c.count + 1
        returning c.count, c.window_start, now() as now`;
      const counted = row as { count: number; window_start: Date; now: Date };
      return decide([policyState('minute', options.addressLimitPerMinute, counted.count, counted.window_start, 60, counted.now)]);
    },
  };
}
