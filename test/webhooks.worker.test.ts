import { randomBytes, randomUUID } from 'node:crypto';
import { verifyWebhook } from '@charter/client';
import type { Database } from '@charter/db';
import {
  createWebhookWorker,
  createWorkspace,
  generateWebhookKeyPair,
  generateWebhookSecret,
  retryPolicy,
  sealSecret,
  type WebhookWorker,
  type WebhookWorkerOptions,
} from '@charter/server';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type IsolatedDatabase, openIsolatedDatabase } from './support/isolated-database.ts';
import { type Receiver, startReceiver, waitFor } from './support/webhook-receiver.ts';

// The worker in this process, over the run's database, sending to real receivers on loopback.
// Retry waits are a few milliseconds here: the schedule is a setting, and tests wait for conditions.

const sealingKey = randomBytes(32);
let isolated: IsolatedDatabase;
let database: Database;
let workspaceId: string;
const workers: WebhookWorker[] = [];
const receivers: Receiver[] = [];

beforeAll(async () => {
  isolated = await openIsolatedDatabase();
  database = isolated.database;
  workspaceId = (await createWorkspace(database.sql, { name: 'Webhook worker' })).workspaceId;
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

afterAll(async () => {
  await isolated?.close();
});

async function receiver(answer?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const started = await startReceiver(answer);
  receivers.push(started);
  return started;
}

function worker(options: Partial<WebhookWorkerOptions> = {}): WebhookWorker {
  const started = createWebhookWorker({
    sql: database.sql,
    sealingKey,
    listen: false,
    pollIntervalMs: 50,
    http: { allowedHosts: ['127.0.0.1'], timeoutMs: 5_000 },
    policy: retryPolicy({ delaysMs: [1, 1, 1, 1, 1, 1, 1], jitter: 0 }),
    logError: () => {},
    ...options,
  });
  workers.push(started);
  void started.start();
  return started;
}

/** An endpoint with its signing secrets (sealed, as the API stores them); the first is the current one. */
async function endpoint(url: string, secrets: Array<{ secret: string; expiresInMs?: number }> = [{ secret: generateWebhookSecret() }]) {
  const id = `whk_${randomUUID().replaceAll('-', '')}`;
  await database.sql`insert into webhook_endpoints (id, workspace_id, url, events) values (${id}, ${workspaceId}, ${url}, ${['*']})`;
  for (const { secret, expiresInMs } of secrets) {
    const expires = expiresInMs === undefined ? null : new Date(Date.now() + expiresInMs);
    await database.sql`
      insert into webhook_secrets (id, endpoint_id, sealed, expires_at)
      values (${`whs_${randomUUID().replaceAll('-', '')}`}, ${id}, ${sealSecret(sealingKey, id, secret)}, ${expires})`;
  }
  return id;
}

/** An event in the outbox with one delivery to `endpointId`, as a committed change leaves it. */
async function event(endpointId: string, type = 'record.created', data: unknown = { id: 'rec_1', data: { name: 'Ada' } }) {
  const eventId = `evt_${randomUUID().replaceAll('-', '')}`;
  const deliveryId = `dlv_${randomUUID().replaceAll('-', '')}`;
  await database.sql.begin(async (tx) => {
    await tx`insert into webhook_events (id, workspace_id, type, data) values (${eventId}, ${workspaceId}, ${type}, ${tx.json(data as never)})`;
    await tx`insert into webhook_deliveries (id, event_id, endpoint_id, event_type) values (${deliveryId}, ${eventId}, ${endpointId}, ${type})`;
  });
  return { eventId, deliveryId };
}

async function delivery(id: string) {
  const [row] = await database.sql<{ status: string; attempt: number; response_code: number | null; next_attempt_at: Date | null; delivered_at: Date | null; locked_by: string | null }[]>`
    select status, attempt, response_code, next_attempt_at, delivered_at, locked_by from webhook_deliveries where id = ${id}`;
  return row;
}

async function attempts(deliveryId: string) {
  return database.sql<{ attempt: number; status_code: number | null; response_body: string | null; error: string | null; response_time_ms: number }[]>`
    select attempt, status_code, response_body, error, response_time_ms from webhook_attempts where delivery_id = ${deliveryId} order by attempt`;
}

async function endpointRow(id: string) {
  const [row] = await database.sql<{ is_active: boolean; disabled_reason: string | null; success_count: string; failure_count: string; consecutive_failures: number; last_delivery_at: Date | null }[]>`
    select is_active, disabled_reason, success_count::text, failure_count::text, consecutive_failures, last_delivery_at from webhook_endpoints where id = ${id}`;
  return row;
}

describe('the webhook worker', () => {
  it('sends each event signed, verifiable by the client and by the standardwebhooks package, and records the attempt', async () => {
    const target = await receiver(() => 200);
    const secret = generateWebhookSecret();
    const endpointId = await endpoint(`${target.url}/in`, [{ secret }]);
    const data = { id: 'rec_01', module_id: 'mod_01', data: { name: 'Zoë' } };
    const { eventId, deliveryId } = await event(endpointId, 'record.updated', data);
    worker();
    await waitFor('the delivery to succeed', async () => (await delivery(deliveryId))?.status === 'success');

    expect(target.received).toHaveLength(1);
    const [sent] = target.received;
    expect(sent?.id).toBe(eventId);
    expect(sent?.path).toBe('/in');
    const body = JSON.parse(sent?.body ?? '');
    expect(body).toEqual({ id: eventId, type: 'record.updated', created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/), workspace_id: workspaceId, data });
    const headers = sent?.headers as Record<string, string>;
    expect(await verifyWebhook(sent?.body ?? '', headers, secret)).toEqual(body);
    expect(new Webhook(secret).verify(sent?.body ?? '', headers)).toEqual(body);

    expect(await delivery(deliveryId)).toMatchObject({ status: 'success', attempt: 1, response_code: 200, next_attempt_at: null, delivered_at: expect.any(Date), locked_by: null });
    expect(await attempts(deliveryId)).toEqual([{ attempt: 1, status_code: 200, response_body: 'answered 200', error: null, response_time_ms: expect.any(Number) }]);
    expect(await endpointRow(endpointId)).toMatchObject({ is_active: true, success_count: '1', failure_count: '0', consecutive_failures: 0, last_delivery_at: expect.any(Date) });
  });

  it('retries a receiver that fails 3 times: the event arrives on attempt 4 with the same webhook-id', async () => {
    const target = await receiver((_request, index) => (index < 3 ? 503 : 200));
    const secret = generateWebhookSecret();
    const endpointId = await endpoint(`${target.url}/flaky`, [{ secret }]);
    const { eventId, deliveryId } = await event(endpointId);
    worker();
    await waitFor('attempt 4 to succeed', async () => (await delivery(deliveryId))?.status === 'success');

    expect(target.received.map((request) => request.id)).toEqual([eventId, eventId, eventId, eventId]);
    // Each attempt is signed anew, and each signature verifies; the body never changes.
    expect(new Set(target.received.map((request) => request.body)).size).toBe(1);
    for (const request of target.received) expect(new Webhook(secret).verify(request.body, request.headers as Record<string, string>)).toMatchObject({ id: eventId });
    expect((await attempts(deliveryId)).map((row) => row.status_code)).toEqual([503, 503, 503, 200]);
    expect(await delivery(deliveryId)).toMatchObject({ status: 'success', attempt: 4, response_code: 200 });
    expect(await endpointRow(endpointId)).toMatchObject({ success_count: '1', failure_count: '3', consecutive_failures: 0, is_active: true });
  });

  it('abandons a delivery after the last attempt of the schedule', async () => {
    const target = await receiver(() => 500);
    const endpointId = await endpoint(`${target.url}/down`);
    const { deliveryId } = await event(endpointId);
    worker({ policy: retryPolicy({ delaysMs: [1, 1], jitter: 0 }) });
    await waitFor('the delivery to be abandoned', async () => (await delivery(deliveryId))?.status === 'failed');
    expect(await delivery(deliveryId)).toMatchObject({ status: 'failed', attempt: 3, response_code: 500, next_attempt_at: null, delivered_at: null });
    expect((await attempts(deliveryId)).map((row) => row.status_code)).toEqual([500, 500, 500]);
    expect(target.received).toHaveLength(3);
  });

  it('schedules a retry per the schedule, not at once', async () => {
    const target = await receiver(() => 500);
    const endpointId = await endpoint(`${target.url}/later`);
    const { deliveryId } = await event(endpointId);
    worker({ policy: retryPolicy({ delaysMs: [3_600_000], jitter: 0 }) });
    await waitFor('the first attempt to be recorded', async () => (await delivery(deliveryId))?.status === 'retrying');
    const row = await delivery(deliveryId);
    const [now] = await database.sql<{ now: Date }[]>`select now()`;
    // An hour from now, to within the test's own run time.
    expect((row?.next_attempt_at?.getTime() ?? 0) - (now?.now.getTime() ?? 0)).toBeGreaterThan(3_500_000);
    expect(target.received).toHaveLength(1);
  });

  it('switches an endpoint off after the threshold of failures in a row, with a reason; back on, its delivery goes out', async () => {
    let healthy = false;
    const target = await receiver(() => (healthy ? 200 : 500));
    const endpointId = await endpoint(`${target.url}/dying`);
    const { deliveryId } = await event(endpointId);
    worker({ policy: retryPolicy({ delaysMs: [1, 1, 1, 1, 1, 1, 1, 1, 1], jitter: 0, disableAfterFailures: 4 }) });
    await waitFor('the endpoint to be switched off', async () => (await endpointRow(endpointId))?.is_active === false);
    const off = await endpointRow(endpointId);
    expect(off).toMatchObject({ is_active: false, consecutive_failures: 4, failure_count: '4', success_count: '0' });
    expect(off?.disabled_reason).toMatch(/4 failed delivery attempts in a row/);
    // Its delivery waits, due, and is not sent while the endpoint is off.
    expect(await delivery(deliveryId)).toMatchObject({ status: 'retrying', attempt: 4, locked_by: null });
    expect(target.received).toHaveLength(4);
    const other = await endpoint(`${target.url}/other`);
    const probe = await event(other);
    await waitFor('a later delivery to another endpoint', async () => (await delivery(probe.deliveryId))?.status !== 'pending');
    expect(await delivery(deliveryId)).toMatchObject({ status: 'retrying', attempt: 4 });

    healthy = true;
    await database.sql`update webhook_endpoints set is_active = true, disabled_reason = null, consecutive_failures = 0 where id = ${endpointId}`;
    await waitFor('the delivery to go out once it is back on', async () => (await delivery(deliveryId))?.status === 'success');
    expect(await delivery(deliveryId)).toMatchObject({ status: 'success', attempt: 5 });
    expect(await endpointRow(endpointId)).toMatchObject({ is_active: true, consecutive_failures: 0, success_count: '1', failure_count: '4' });
  });

  it('switches an endpoint off at once when the receiver answers 410 Gone', async () => {
    const target = await receiver(() => 410);
    const endpointId = await endpoint(`${target.url}/gone`);
    await event(endpointId);
    worker();
    await waitFor('the endpoint to be switched off', async () => (await endpointRow(endpointId))?.is_active === false);
    expect((await endpointRow(endpointId))?.disabled_reason).toMatch(/410 Gone/);
    expect(target.received).toHaveLength(1);
  });

  it('signs with every live secret during a rotation, and no longer with an expired one', async () => {
    const target = await receiver();
    const current = generateWebhookSecret();
    const previous = generateWebhookSecret();
    const expired = generateWebhookSecret();
    const endpointId = await endpoint(`${target.url}/rotating`, [{ secret: current }, { secret: previous, expiresInMs: 3_600_000 }, { secret: expired, expiresInMs: -1_000 }]);
    const { deliveryId } = await event(endpointId);
    worker();
    await waitFor('the delivery', async () => (await delivery(deliveryId))?.status === 'success');
    const [sent] = target.received;
    const headers = sent?.headers as Record<string, string>;
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(await verifyWebhook(sent?.body ?? '', headers, current)).toMatchObject({ type: 'record.created' });
    expect(await verifyWebhook(sent?.body ?? '', headers, previous)).toMatchObject({ type: 'record.created' });
    await expect(verifyWebhook(sent?.body ?? '', headers, expired)).rejects.toThrow(/signature/);
  });

  it('signs v1a for an Ed25519 endpoint: the receiver verifies with the public key alone', async () => {
    const target = await receiver();
    const pair = generateWebhookKeyPair();
    const endpointId = await endpoint(`${target.url}/ed25519`, [{ secret: pair.secretKey }]);
    const { eventId, deliveryId } = await event(endpointId);
    worker();
    await waitFor('the delivery', async () => (await delivery(deliveryId))?.status === 'success');
    const [sent] = target.received;
    expect(sent?.signature).toMatch(/^v1a,/);
    expect(await verifyWebhook(sent?.body ?? '', sent?.headers as Record<string, string>, pair.publicKey)).toMatchObject({ id: eventId });
  });

  it('refuses a target the settings do not allow, records why, and never connects', async () => {
    const target = await receiver();
    const endpointId = await endpoint(`${target.url}/private`);
    const { deliveryId } = await event(endpointId);
    worker({ http: { allowedHosts: [], timeoutMs: 5_000 }, policy: retryPolicy({ delaysMs: [], jitter: 0 }) });
    await waitFor('the delivery to be abandoned', async () => (await delivery(deliveryId))?.status === 'failed');
    const [attempt] = await attempts(deliveryId);
    expect(attempt?.status_code).toBeNull();
    expect(attempt?.error).toMatch(/^refused: The url must use https/);
    expect(target.received).toHaveLength(0);
  });

  it('a worker whose sealing key does not open the secrets sends nothing and counts nothing: another worker delivers', async () => {
    const target = await receiver();
    const endpointId = await endpoint(`${target.url}/keys`);
    const { deliveryId } = await event(endpointId);
    const problems: string[] = [];
    const misconfigured = worker({ sealingKey: randomBytes(32), leaseMs: 200, logError: (message) => problems.push(message) });
    await waitFor('the misconfigured worker to give up on the delivery', () => problems.some((message) => message.includes(deliveryId)));
    await misconfigured.stop();
    expect(await delivery(deliveryId)).toMatchObject({ status: 'pending', attempt: 0 });
    expect(await attempts(deliveryId)).toEqual([]);
    expect(await endpointRow(endpointId)).toMatchObject({ failure_count: '0', consecutive_failures: 0, is_active: true });
    expect(target.received).toHaveLength(0);
    worker();
    await waitFor('the delivery, once the lease ran out', async () => (await delivery(deliveryId))?.status === 'success');
    expect(target.received).toHaveLength(1);
  });

  it('sends again, with the same webhook-id, a delivery whose worker died holding its lease', async () => {
    const target = await receiver();
    const endpointId = await endpoint(`${target.url}/crash`);
    const { eventId, deliveryId } = await event(endpointId);
    // What a worker killed mid-delivery leaves: a claim whose lease has run out.
    await database.sql`update webhook_deliveries set locked_by = 'dead-worker', locked_until = now() - interval '1 second' where id = ${deliveryId}`;
    worker();
    await waitFor('the delivery', async () => (await delivery(deliveryId))?.status === 'success');
    expect(target.received.map((request) => request.id)).toEqual([eventId]);
  });

  it('leaves alone a delivery another worker holds a live lease on', async () => {
    const target = await receiver();
    const endpointId = await endpoint(`${target.url}/leased`);
    const leased = await event(endpointId);
    const free = await event(endpointId);
    await database.sql`update webhook_deliveries set locked_by = 'other-worker', locked_until = now() + interval '1 hour' where id = ${leased.deliveryId}`;
    worker();
    await waitFor('the free delivery', async () => (await delivery(free.deliveryId))?.status === 'success');
    expect(await delivery(leased.deliveryId)).toMatchObject({ status: 'pending', attempt: 0, locked_by: 'other-worker' });
    expect(target.received.map((request) => request.id)).toEqual([free.eventId]);
  });

  it('finishes and records the attempts in flight when stopped', async () => {
    let release = () => {};
    const held = new Promise<number>((resolve) => {
      release = () => resolve(200);
    });
    const target = await receiver(() => held);
    const endpointId = await endpoint(`${target.url}/slow`);
    const { deliveryId } = await event(endpointId);
    const running = worker();
    await waitFor('the request to arrive', () => target.received.length === 1);
    let stopped = false;
    const stopping = running.stop().then(() => {
      stopped = true;
    });
    // Stopping waits for the receiver's answer.
    expect(stopped).toBe(false);
    expect((await delivery(deliveryId))?.status).toBe('pending');
    release();
    await stopping;
    expect(await delivery(deliveryId)).toMatchObject({ status: 'success', attempt: 1, locked_by: null });
  });
});
