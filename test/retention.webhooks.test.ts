import { randomBytes } from 'node:crypto';
import type { Database } from '@charter/db';
import { createApp, createWorkspace, DEFAULT_RETENTION, purgeExpired, resolveRetention } from '@charter/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from './support/server.ts';

// Shorter than the default (30 days), so that a purge with the defaults (another file's server)
// never removes a row this test expects to be kept.
const retention = resolveRetention({ webhookDays: 5 });
const OLD = 6 * 24; // hours: past the 5 days
const YOUNG = 4 * 24; // hours: within them

let database: Database;
let workspaceId: string;
beforeAll(async () => {
  database = await openTestDatabase();
  workspaceId = (await createWorkspace(database.sql, { name: 'Webhook retention' })).workspaceId;
});
afterAll(() => database.close());

describe('the retention purge of webhook data', () => {
  it('deletes finished deliveries past the retention with their attempts, and events left with no delivery; never a pending or retrying one', async () => {
    const { sql } = database;
    const run = randomBytes(6).toString('hex');
    const endpointId = `whk_${run}`;
    await sql`insert into webhook_endpoints (id, workspace_id, url, events) values (${endpointId}, ${workspaceId}, 'https://example.com/hooks', '{*}')`;
    const kept: string[] = [];
    const event = async (name: string, hours: number, expired: boolean) => {
      await sql`
        insert into webhook_events (id, workspace_id, type, data, created_at)
        values (${`evt_${run}_${name}`}, ${workspaceId}, 'record.created', '{}', now() - make_interval(hours => ${hours}))`;
      if (!expired) kept.push(`event/${name}`);
    };
    /** A delivery whose last update (when it finished, for a finished one) was `hours` ago, with `attempts` attempts. */
    const delivery = async (eventName: string, name: string, status: string, hours: number, attempts: number, expired: boolean) => {
      const id = `dlv_${run}_${name}`;
      await sql`
        insert into webhook_deliveries (id, event_id, endpoint_id, event_type, status, attempt, next_attempt_at, created_at, updated_at)
        values (${id}, ${`evt_${run}_${eventName}`}, ${endpointId}, 'record.created', ${status}, ${attempts},
                ${status === 'pending' || status === 'retrying' ? sql`now() + interval '1 hour'` : null},
                now() - make_interval(hours => ${OLD * 2}), now() - make_interval(hours => ${hours}))`;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        await sql`
          insert into webhook_attempts (delivery_id, attempt, status_code, response_time_ms, attempted_at)
          values (${id}, ${attempt}, 500, 1, now() - make_interval(hours => ${hours}))`;
        if (!expired) kept.push(`attempt/${name}/${attempt}`);
      }
      if (!expired) kept.push(`delivery/${name}`);
    };

    // Every delivery of this event finished long ago: the deliveries, their attempts and the event go.
    await event('done', OLD * 2, true);
    await delivery('done', 'success-old', 'success', OLD, 2, true);
    await delivery('done', 'failed-old', 'failed', OLD, 8, true);
    // This event's deliveries stay: one finished within the retention, and two not finished at all
    // (an endpoint switched off for weeks, a long retry schedule), whatever their age.
    await event('live', OLD * 2, false);
    await delivery('live', 'success-young', 'success', YOUNG, 1, false);
    await delivery('live', 'failed-young', 'failed', YOUNG, 8, false);
    await delivery('live', 'pending-old', 'pending', OLD * 2, 0, false);
    await delivery('live', 'retrying-old', 'retrying', OLD * 2, 3, false);
    // Half finished long ago: that delivery goes, the event stays with the other.
    await event('half', OLD * 2, false);
    await delivery('half', 'half-old', 'success', OLD, 1, true);
    await delivery('half', 'half-young', 'failed', YOUNG, 8, false);
    // Events without deliveries (their endpoint was deleted): the old one goes, the young one stays.
    await event('orphan-old', OLD, true);
    await event('orphan-young', YOUNG, false);

    const counts = await purgeExpired(sql, retention, { batchSize: 2 });

    const remaining = await sql<{ row: string }[]>`
      select 'event/' || substr(id, ${`evt_${run}_`.length + 1}) as row from webhook_events where id like ${`evt_${run}_%`}
      union all select 'delivery/' || substr(id, ${`dlv_${run}_`.length + 1}) from webhook_deliveries where id like ${`dlv_${run}_%`}
      union all
      select 'attempt/' || substr(delivery_id, ${`dlv_${run}_`.length + 1}) || '/' || attempt from webhook_attempts where delivery_id like ${`dlv_${run}_%`}`;
    expect(remaining.map((row) => row.row).sort()).toEqual(kept.sort());
    // Other files' rows may be purged too; this test's are at least counted.
    expect(counts.webhook_attempts).toBeGreaterThanOrEqual(2 + 8 + 1);
    expect(counts.webhook_deliveries).toBeGreaterThanOrEqual(3);
    expect(counts.webhook_events).toBeGreaterThanOrEqual(2);
    console.log(`purged with batches of 2: ${JSON.stringify(counts)}; kept: ${kept.length} rows of this test`);
  });

  it('keeps 30 days by default, at least one, and a bad setting is refused by name', () => {
    expect(DEFAULT_RETENTION.webhookDays).toBe(30);
    expect(() => resolveRetention({ webhookDays: 0 })).toThrow(/retention.webhookDays must be a whole number of at least 1/);
    expect(() => createApp({ sql: database.sql, retention: { webhookDays: 2.5 } })).toThrow(/webhookDays/);
  });
});
