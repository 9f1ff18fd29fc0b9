import { randomBytes } from 'node:crypto';
import type { Database } from '@charter/db';
import { createApp, purgeExpired, resolveRetention } from '@charter/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, openTestDatabase, startTestServer } from './support/server.ts';

// Shorter than every default, so that a purge with the defaults (another server's) never removes
// a row this test expects to be kept.
const retention = resolveRetention({ accessLogDays: 7, unauthenticatedLogDays: 3, usageDays: 10, counterHours: 30 });

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database.close());

describe('the retention purge', () => {
  it('deletes exactly what is past its retention, in batches, from every table', async () => {
    const { sql } = database;
    const run = randomBytes(6).toString('hex');
    const keyId = `key_retention_${run}`;
    // Age of each row in hours, named by whether the purge must delete it.
    const ages = { expired: [] as string[], kept: [] as string[] };
    const accessLog = async (name: string, hours: number, expired: boolean) => {
      await sql`
        insert into access_logs (id, workspace_id, key_id, method, path, status, latency_ms, request_id, created_at)
        values (${`${run}-${name}`}, ${`wsp_${run}`}, ${keyId}, 'GET', '/api/v1/modules', 200, 1, ${`${run}-${name}`},
                now() - make_interval(hours => ${hours}))`;
      ages[expired ? 'expired' : 'kept'].push(`access_logs/${run}-${name}`);
    };
    // Five expired access-log rows: with batches of two, three statements.
    for (let i = 0; i < 5; i++) await accessLog(`old-${i}`, 7 * 24 + 1 + i, true);
    await accessLog('young', 7 * 24 - 1, false);
    await accessLog('new', 0, false);

    const address = `retention-${run}`;
    for (const [status, hours, expired] of [[401, 3 * 24 + 1, true], [403, 3 * 24 - 1, false]] as const) {
      await sql`
        insert into unauthenticated_requests (minute, client_address, method, status, requests, sample_path, sample_request_id)
        values (date_trunc('minute', now() - make_interval(hours => ${hours})), ${address}, 'GET', ${status}, 3, '/api/v1/x', 'req')`;
      ages[expired ? 'expired' : 'kept'].push(`unauthenticated_requests/${status}`);
    }
    for (const [hours, expired] of [[10 * 24 + 1, true], [10 * 24 - 1, false]] as const) {
      await sql`
        insert into usage_minutes (key_id, minute, requests, errors)
        values (${keyId}, date_trunc('minute', now() - make_interval(hours => ${hours})), 1, 0)`;
      ages[expired ? 'expired' : 'kept'].push(`usage_minutes/${hours}`);
    }
    for (const [name, expiresInMinutes, expired] of [['expired', -1, true], ['live', 60, false]] as const) {
      await sql`
        insert into idempotency_keys (key_id, idempotency_key, fingerprint, owner, status, response_body, created_at, expires_at)
        values (${keyId}, ${name}, ${Buffer.alloc(32)}, 'owner', 201, '{}', now() - interval '1 day',
                now() + make_interval(mins => ${expiresInMinutes}))`;
      ages[expired ? 'expired' : 'kept'].push(`idempotency_keys/${name}`);
    }
    for (const [kind, hours, expired] of [['minute', 31, true], ['day', 29, false], ['minute', 0, false]] as const) {
      await sql`
        insert into rate_limit_counters (subject, window_kind, window_start, count)
        values (${`key:${keyId}`}, ${kind}, date_trunc('minute', now() - make_interval(hours => ${hours})), 1)`;
      ages[expired ? 'expired' : 'kept'].push(`rate_limit_counters/${kind}/${hours}`);
    }

    const counts = await purgeExpired(sql, retention, { batchSize: 2 });

    const remaining = await sql<{ row: string }[]>`
      select 'access_logs/' || id as row from access_logs where id like ${`${run}-%`}
      union all select 'unauthenticated_requests/' || status from unauthenticated_requests where client_address = ${address}
      union all
      select 'usage_minutes/' || round(extract(epoch from now() - minute) / 3600) from usage_minutes where key_id = ${keyId}
      union all select 'idempotency_keys/' || idempotency_key from idempotency_keys where key_id = ${keyId}
      union all
      select 'rate_limit_counters/' || window_kind || '/' || round(extract(epoch from now() - window_start) / 3600)
      from rate_limit_counters where subject = ${`key:${keyId}`}`;
    expect(remaining.map((row) => row.row).sort()).toEqual(ages.kept.sort());
    // Other files' rows may be purged too; this file's are at least counted.
    expect(counts.access_logs).toBeGreaterThanOrEqual(5);
    expect(counts.unauthenticated_requests).toBeGreaterThanOrEqual(1);
    expect(counts.usage_minutes).toBeGreaterThanOrEqual(1);
    expect(counts.idempotency_keys).toBeGreaterThanOrEqual(1);
    expect(counts.rate_limit_counters).toBeGreaterThanOrEqual(1);
    console.log(`purged with batches of 2: ${JSON.stringify(counts)}; kept: ${ages.kept.length} rows of this test, deleted: ${ages.expired.length}`);
  });

  it('stops between batches once its signal is aborted', async () => {
    const run = randomBytes(6).toString('hex');
    for (let i = 0; i < 3; i++) {
      await database.sql`
        insert into access_logs (id, method, path, status, latency_ms, request_id, created_at)
        values (${`${run}-${i}`}, 'GET', '/', 200, 1, 'r', now() - interval '400 days')`;
    }
    const stop = new AbortController();
    stop.abort();
    const counts = await purgeExpired(database.sql, retention, { batchSize: 1, signal: stop.signal });
    expect(counts.access_logs).toBe(0);
    const [left] = await database.sql<{ n: number }[]>`select count(*)::int as n from access_logs where id like ${`${run}-%`}`;
    expect(left?.n).toBe(3);
    await purgeExpired(database.sql, retention);
  });
});

describe('retention settings', () => {
  it('refuse to keep idempotency records or counters under 24 hours', () => {
    expect(() => resolveRetention({ idempotencyHours: 12 })).toThrow(/retention.idempotencyHours must be a whole number of at least 24/);
    expect(() => resolveRetention({ counterHours: 23 })).toThrow(/counterHours/);
    expect(() => resolveRetention({ accessLogDays: 0 })).toThrow(/accessLogDays/);
    expect(() => createApp({ sql: database.sql, retention: { usageDays: 1.5 } })).toThrow(/usageDays/);
  });

  it('replay an Idempotency-Key for the configured hours', async () => {
    const server = await startTestServer({ retention: { idempotencyHours: 48 } });
    try {
      const key = `retention-${randomBytes(6).toString('hex')}`;
      const created = await call(server, 'POST', '/modules', { body: { name: 'Kept', fields: [] }, headers: { 'idempotency-key': key } });
      expect(created.status).toBe(201);
      const [row] = await server.database.sql<{ hours: number }[]>`
        select extract(epoch from expires_at - created_at)::int / 3600 as hours from idempotency_keys where idempotency_key = ${key}`;
      expect(row?.hours).toBe(48);
    } finally {
      await server.close();
    }
  });
});
