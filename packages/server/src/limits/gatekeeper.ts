import { effectiveLimits, TIERS, type Tier } from '@charter/contracts';
import type { Sql } from '@charter/db';
import { digestKey, digestsEqual, isWellFormedApiKey, type KeyMode } from '../auth/api-key.ts';
import type { Principal } from '../context.ts';
import { decide, policyState, type RateDecision } from './rate-limit.ts';
import { SHARE_DIVISOR, type Ticket, TokenPools } from './token-pool.ts';

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
  subject: string;
  confirmed: boolean;
  asked: number;
  minute_count: number;
  minute_leased: number;
  minute_start: Date;
  day_count: number;
  day_leased: number;
  day_start: Date;
  now: Date;
}

// Sent as text: postgres.js would JSON-encode a string bound to a jsonb parameter a second time.
const TIER_TABLE = JSON.stringify(TIERS);

/**
 * The PostgreSQL gatekeeper: one statement per request. A request whose process holds a token of
 * the key (token-pool.ts) authenticates and reads the key's counters, and writes nothing; any other
 * authenticates and leases a block of tokens from the key's counter rows in the same statement,
 * never more than the window has left. Every process leases from the same rows, so together they
 * never admit more than the limit plus the burst, nor more than the daily quota: a hot key costs
 * one counter write per block, not per request. A request refused for the minute takes nothing
 * from the daily quota. Malformed keys and bad checksums are refused without touching the
 * database; every well-formed key costs the same statement whether it exists or not.
 */
export function postgresGatekeeper(sql: Sql, options: { addressLimitPerMinute: number }): Gatekeeper {
  const pools = new TokenPools((back) => {
    // Off the request path. A give-back that fails leaves the tokens counted as taken until the
    // window ends: fewer admitted, never more. Minute row first, as the lease locks them.
    sql
      .begin(async (tx) => {
        if (back.minuteTokens > 0) {
          await tx`
            update rate_limit_counters set count = greatest(0, count - ${back.minuteTokens}), writes = writes + 1
            where subject = ${back.subject} and window_kind = 'minute' and window_start = ${back.minuteStart}`;
        }
        if (back.dayTokens > 0) {
          await tx`
            update rate_limit_counters set count = greatest(0, count - ${back.dayTokens}), writes = writes + 1
            where subject = ${back.subject} and window_kind = 'day' and window_start = ${back.dayStart}`;
        }
      })
      .catch(() => {});
  });

  // The database's clock minus this process's, as the latest statement showed it.
  let clockOffset = 0;

  /**
   * Authentication and a read of the key's counters, for a request that holds a token: no write.
   * Its answer says whether the token is good (its window is the database's, and the counters are
   * within the key's limits).
   */
  async function readHeld(digest: Buffer, ticket: Ticket): Promise<AdmissionRow | undefined> {
    const [row] = await sql<Omit<AdmissionRow, 'confirmed' | 'asked' | 'minute_leased' | 'day_leased'>[]>`
      select k.id, k.workspace_id, k.scopes, k.mode, k.tier, k.rate_limit_per_minute, k.burst, k.daily_quota,
             k.expires_at, k.last_used_at, s.digest, s.expires_at is not null as in_grace, 'key:' || k.id as subject,
             date_trunc('minute', now()) as minute_start, date_trunc('day', now()) as day_start, now() as now,
             coalesce((select c.count from rate_limit_counters c
                       where c.subject = 'key:' || k.id and c.window_kind = 'minute' and c.window_start = date_trunc('minute', now())), 0) as minute_count,
             case when k.daily_quota is null then 0
                  else coalesce((select c.count from rate_limit_counters c
                                 where c.subject = 'key:' || k.id and c.window_kind = 'day' and c.window_start = date_trunc('day', now())), 0)
             end as day_count
      from api_key_secrets s
      join api_keys k on k.id = s.key_id
      where s.digest = ${digest}
        and k.revoked_at is null
        and (s.expires_at is null or s.expires_at > now())
        and (k.expires_at is null or k.expires_at > now())`;
    if (!row) return undefined;
    const limits = effectiveLimits(row);
    const confirmed =
      row.minute_start.getTime() === ticket.reserved?.getTime() &&
      row.minute_count <= limits.perMinute + limits.burst &&
      (row.daily_quota === null || row.day_count <= row.daily_quota);
    return { ...row, confirmed, asked: 0, minute_leased: 0, day_leased: 0 };
  }

  return {
    async admitKey(key) {
      if (!key || !isWellFormedApiKey(key)) return undefined;
      const digest = digestKey(key);
      const poolId = digest.toString('base64');
      const ticket = pools.take(poolId, Date.now() + clockOffset);
      let row = ticket.reserved !== undefined && ticket.topUp === 0 ? await readHeld(digest, ticket) : undefined;
      // Without a token, topping up, or with a token that turned out void (rare: a clock estimate
      // off by more than the margin, or limits lowered): the statement that also leases.
      if (!row?.confirmed) row = await leaseStatement(digest, ticket);
      if (row) clockOffset = row.now.getTime() - Date.now();
      if (!row || !digestsEqual(row.digest, digest)) {
        pools.forget(poolId, ticket);
        return undefined;
      }
      return decideFor(row, poolId, ticket);
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

  /**
   * Authentication, a read of the counters and, when this request holds no good token or tops the
   * pool up, a lease: in one statement.
   */
  async function leaseStatement(digest: Buffer, ticket: Ticket): Promise<AdmissionRow | undefined> {
    // want: the block to lease when this request holds no token of the database's current window;
    // topUp: the block to lease although it holds one (the pool runs low).
    const [row] = await sql<AdmissionRow[]>`
      with key as (
        select k.id, k.workspace_id, k.scopes, k.mode, k.tier, k.rate_limit_per_minute, k.burst, k.daily_quota,
               k.expires_at, k.last_used_at, s.digest, s.expires_at is not null as in_grace, t.per_minute
                 + coalesce(k.burst, floor(t.per_minute * t.burst_percent / 100)::int) as minute_cap,
               'key:' || k.id as subject, date_trunc('minute', now()) as minute_start, date_trunc('day', now()) as day_start
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
      counted as (
        select key.*,
               coalesce((select count from rate_limit_counters
                         where subject = key.subject and window_kind = 'minute' and window_start = key.minute_start), 0) as minute_seen,
               coalesce((select count from rate_limit_counters
                         where subject = key.subject and window_kind = 'day' and window_start = key.day_start), 0) as day_seen,
               key.minute_start = ${ticket.reserved ?? null}::timestamptz as same_window
        from key
      ),
      held as (
        -- A token held is good for the window it was taken in, while the counters are within the
        -- key's limits (lowered since, they void the tokens held).
        select counted.*, coalesce(same_window and minute_seen <= minute_cap and (daily_quota is null or day_seen <= daily_quota), false) as confirmed
        from counted
      ),
      asked as (
        select held.*, case when confirmed then ${ticket.topUp}::int else ${ticket.want}::int end as want
        from held
      ),
      ask as (
        -- At most an eighth of what the day has left (the minute's share is taken under the row's lock below).
        select asked.*, case when daily_quota is null then want
                             else least(want, greatest(1, (daily_quota - day_seen) / ${SHARE_DIVISOR}::int)) end as day_share
        from asked
      ),
      minute as (
        insert into rate_limit_counters as c (subject, window_kind, window_start, count, lease, writes)
        select subject, 'minute', minute_start, least(day_share, minute_cap, greatest(1, minute_cap / ${SHARE_DIVISOR}::int)),
               least(day_share, minute_cap, greatest(1, minute_cap / ${SHARE_DIVISOR}::int)), 1
        from ask
        -- Nothing left (as this statement sees it): no write, and no wait on the row's lock.
        where want > 0 and minute_seen < minute_cap and (daily_quota is null or day_seen < daily_quota)
        on conflict (subject, window_kind, window_start) do update
          set count = c.count + least((select day_share from ask), (select minute_cap from ask) - c.count,
                                      greatest(1, ((select minute_cap from ask) - c.count) / ${SHARE_DIVISOR}::int)),
              lease = least((select day_share from ask), (select minute_cap from ask) - c.count,
                            greatest(1, ((select minute_cap from ask) - c.count) / ${SHARE_DIVISOR}::int)),
              writes = c.writes + 1
          where c.count < (select minute_cap from ask)
        returning c.count, c.lease
      ),
      day as (
        insert into rate_limit_counters as c (subject, window_kind, window_start, count, lease, writes)
        select ask.subject, 'day', ask.day_start, least(minute.lease, ask.daily_quota), least(minute.lease, ask.daily_quota), 1
        from ask cross join minute
        where ask.daily_quota is not null
        on conflict (subject, window_kind, window_start) do update
          set count = c.count + least((select lease from minute), (select daily_quota from ask) - c.count),
              lease = least((select lease from minute), (select daily_quota from ask) - c.count),
              writes = c.writes + 1
          where c.count < (select daily_quota from ask)
        returning c.count, c.lease
      )
      select ask.id, ask.workspace_id, ask.scopes, ask.mode, ask.tier, ask.rate_limit_per_minute, ask.burst,
             ask.daily_quota, ask.expires_at, ask.last_used_at, ask.digest, ask.in_grace, ask.subject, ask.confirmed, ask.want as asked,
             coalesce(minute.count, ask.minute_seen) as minute_count, coalesce(minute.lease, 0) as minute_leased,
             ask.minute_start, coalesce(day.count, ask.day_seen) as day_count, coalesce(day.lease, 0) as day_leased,
             ask.day_start, now() as now
      from ask left join minute on true left join day on true`;
    return row;
  }

  function decideFor(row: AdmissionRow, poolId: string, ticket: Ticket): { principal: Principal; decision: RateDecision } {
    const limits = effectiveLimits(row);
    const minuteCap = limits.perMinute + limits.burst;
    const daily = row.daily_quota !== null;
    const spent = pools.settle(
      poolId,
      ticket,
      {
        subject: row.subject,
        minuteStart: row.minute_start,
        dayStart: row.day_start,
        daily,
        confirmed: row.confirmed,
        leased: row.asked > 0,
        minuteLeased: row.minute_leased,
        dayLeased: row.day_leased,
        minuteCount: row.minute_count,
        dayCount: row.day_count,
      },
      { minute: minuteCap, day: row.daily_quota },
    );
    // Which limit refused: the day when it had nothing left (or less than the minute lease), else the minute.
    const dayRefused = !spent.admitted && daily && (row.day_count >= (row.daily_quota ?? 0) || (row.minute_leased > 0 && row.day_leased === 0));
    const minuteRefused = !spent.admitted && (!dayRefused || row.minute_count >= minuteCap);
    // policyState reads remaining as limit − count, and exceeded as count > limit.
    const policies = [
      policyState('minute', minuteCap, minuteRefused ? minuteCap + 1 : minuteCap - spent.minuteRemaining, row.minute_start, 60, row.now),
    ];
    if (row.daily_quota !== null) {
      const quota = row.daily_quota;
      policies.push(policyState('day', quota, dayRefused ? quota + 1 : quota - spent.dayRemaining, row.day_start, 86_400, row.now));
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
  }
}
