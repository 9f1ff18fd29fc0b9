import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Database } from '@charter/db';
import { createWebhookWorker, createWorkspace, generateWebhookSecret, retryPolicy, sealSecret, type WebhookWorker } from '@charter/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IsolatedDatabase, openIsolatedDatabase } from './support/isolated-database.ts';
import { waitFor } from './support/webhook-receiver.ts';

// A receiver that answers 429 or 503 with Retry-After is not tried again before it asked, up to the
// schedule's longest step, and never before the schedule's own next step. The worker runs in this
// process against a real receiver on loopback; each delivery's next attempt is read from the
// database (next_attempt_at − updated_at: the wait the worker set, in the statement that recorded
// the attempt), never waited for.

// Two quick retries, then a 2 h step: the longest step, so the most a Retry-After can buy.
const policy = retryPolicy({ delaysMs: [50, 50, 7_200_000], jitter: 0 });
const sealingKey = randomBytes(32);
let isolated: IsolatedDatabase;
let database: Database;
let workspaceId: string;
let worker: WebhookWorker;
let receiver: http.Server;
let receiverUrl: string;

/** Each endpoint's path names what the receiver answers to its n-th request (the last entry from then on). */
const answers = new Map<string, Array<{ status: number; retryAfter?: () => string }>>();
const seen = new Map<string, number>();

beforeAll(async () => {
  isolated = await openIsolatedDatabase();
  database = isolated.database;
  workspaceId = (await createWorkspace(database.sql, { name: 'Retry-After' })).workspaceId;
  receiver = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const path = request.url ?? '';
      const index = seen.get(path) ?? 0;
      seen.set(path, index + 1);
      const script = answers.get(path) ?? [{ status: 404 }];
      const answer = script[Math.min(index, script.length - 1)] as { status: number; retryAfter?: () => string };
      const headers: Record<string, string> = { 'content-type': 'text/plain' };
      if (answer.retryAfter) headers['retry-after'] = answer.retryAfter();
      response.writeHead(answer.status, headers).end(`answered ${answer.status}`);
    });
  });
  receiver.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  worker = createWebhookWorker({
    sql: database.sql,
    sealingKey,
    listen: false,
    pollIntervalMs: 50,
    http: { allowedHosts: ['127.0.0.1'], timeoutMs: 5_000 },
    policy,
    logError: () => {},
  });
  await worker.start();
});

afterAll(async () => {
  await worker?.stop();
  await new Promise<void>((resolve) => {
    receiver?.closeAllConnections();
    receiver ? receiver.close(() => resolve()) : resolve();
  });
  await isolated?.close();
});

/** An endpoint answering as `script` says, with one event to deliver: the delivery's ID. */
async function deliveryTo(script: Array<{ status: number; retryAfter?: () => string }>): Promise<string> {
  const path = `/${randomUUID()}`;
  answers.set(path, script);
  const endpointId = `whk_${randomUUID().replaceAll('-', '')}`;
  await database.sql`insert into webhook_endpoints (id, workspace_id, url, events) values (${endpointId}, ${workspaceId}, ${receiverUrl + path}, ${['*']})`;
  await database.sql`
    insert into webhook_secrets (id, endpoint_id, sealed)
    values (${`whs_${randomUUID().replaceAll('-', '')}`}, ${endpointId}, ${sealSecret(sealingKey, endpointId, generateWebhookSecret())})`;
  const eventId = `evt_${randomUUID().replaceAll('-', '')}`;
  const deliveryId = `dlv_${randomUUID().replaceAll('-', '')}`;
  await database.sql.begin(async (tx) => {
    await tx`insert into webhook_events (id, workspace_id, type, data) values (${eventId}, ${workspaceId}, 'record.created', '{}')`;
    await tx`insert into webhook_deliveries (id, event_id, endpoint_id, event_type) values (${deliveryId}, ${eventId}, ${endpointId}, 'record.created')`;
  });
  worker.wake();
  return deliveryId;
}

/** Once the delivery has made `attempts` attempts: its status, last response code, and the wait set before the next one (ms). */
async function afterAttempt(deliveryId: string, attempts: number) {
  let row: { status: string; attempt: number; response_code: number | null; wait_ms: number | null } | undefined;
  await waitFor(`attempt ${attempts} of ${deliveryId} to be recorded`, async () => {
    [row] = await database.sql<NonNullable<typeof row>[]>`
      select status, attempt, response_code, (extract(epoch from next_attempt_at - updated_at) * 1000)::float8 as wait_ms
      from webhook_deliveries where id = ${deliveryId}`;
    return (row?.attempt ?? 0) >= attempts;
  });
  return row as NonNullable<typeof row>;
}

describe("a receiver's Retry-After", () => {
  it('in seconds on a 429: the next attempt is that far off, not the schedule’s 50 ms', async () => {
    const id = await deliveryTo([{ status: 429, retryAfter: () => '600' }]);
    const after = await afterAttempt(id, 1);
    expect(after).toMatchObject({ status: 'retrying', attempt: 1, response_code: 429 });
    expect(after.wait_ms).toBeCloseTo(600_000, -1);
  });

  it('as an HTTP-date on a 503: the next attempt is no earlier than that date', async () => {
    let askedFor = 0;
    const id = await deliveryTo([
      {
        status: 503,
        retryAfter: () => {
          // Whole seconds, as an HTTP-date has: 20 minutes from now, rounded up.
          askedFor = Math.ceil((Date.now() + 1_200_000) / 1000) * 1000;
          return new Date(askedFor).toUTCString();
        },
      },
    ]);
    const after = await afterAttempt(id, 1);
    expect(after).toMatchObject({ status: 'retrying', attempt: 1, response_code: 503 });
    const [row] = await database.sql<{ next: Date }[]>`select next_attempt_at as next from webhook_deliveries where id = ${id}`;
    // The database's clock is the machine's, and it records after the worker read the answer: the
    // next attempt is no earlier than the date asked (to the millisecond the columns keep), and later
    // only by the time the worker took between reading and recording.
    const next = row?.next.getTime() ?? 0;
    expect(next).toBeGreaterThanOrEqual(askedFor - 2);
    expect(next).toBeLessThan(askedFor + 60_000);
    expect(after.wait_ms).toBeGreaterThan(1_140_000);
    expect(after.wait_ms).toBeLessThanOrEqual(1_201_000);
  });

  it('is bounded: a day gets the schedule’s longest step (2 h here); less than the schedule’s next step leaves that step; on a 500 it is ignored', async () => {
    const [capped, short, ignored] = await Promise.all([
      deliveryTo([{ status: 429, retryAfter: () => '86400' }]),
      // Two quick failures, then a 429 asking for a minute where the schedule waits 2 h.
      deliveryTo([{ status: 500 }, { status: 500 }, { status: 429, retryAfter: () => '60' }]),
      // Not a 429 or a 503: the schedule's quick retry comes, and succeeds.
      deliveryTo([{ status: 500, retryAfter: () => '600' }, { status: 200 }]),
    ]);
    const cappedAfter = await afterAttempt(capped, 1);
    expect(cappedAfter).toMatchObject({ status: 'retrying', attempt: 1, response_code: 429 });
    expect(cappedAfter.wait_ms).toBeCloseTo(7_200_000, -1);
    const shortAfter = await afterAttempt(short, 3);
    expect(shortAfter).toMatchObject({ status: 'retrying', attempt: 3, response_code: 429 });
    expect(shortAfter.wait_ms).toBeCloseTo(7_200_000, -1);
    expect(await afterAttempt(ignored, 2)).toMatchObject({ status: 'success', attempt: 2, response_code: 200 });
  });
});
