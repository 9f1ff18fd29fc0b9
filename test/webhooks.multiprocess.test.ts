import { randomBytes, randomUUID } from 'node:crypto';
import { verifyWebhook } from '@charter/client';
import type { Database } from '@charter/db';
import { createWorkspace, generateWebhookSecret, sealSecret } from '@charter/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { onServer, serverOnly } from './support/gates.ts';
import { type IsolatedDatabase, openIsolatedDatabase } from './support/isolated-database.ts';
import { type ApiProcess, startApiProcess } from './support/process.ts';
import { call } from './support/server.ts';
import { type Receiver, startReceiver, waitFor } from './support/webhook-receiver.ts';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.ts';

// Worker processes (`pnpm worker`) sharing one PostgreSQL server, sending to real receivers on loopback.
describe.skipIf(!onServer)(serverOnly('webhook workers in several processes'), () => {
  const sealingKey = randomBytes(32);
  let isolated: IsolatedDatabase;
  let database: Database;
  let workspaceId: string;
  const workers: WorkerProcess[] = [];
  const receivers: Receiver[] = [];

  const env = () => ({
    DATABASE_URL: isolated.url,
    WEBHOOK_WORKER: 'on',
    CHARTER_SEALING_KEY: sealingKey.toString('base64'),
    WEBHOOK_ALLOWED_HOSTS: '127.0.0.1',
    WEBHOOK_TIMEOUT_MS: '2000',
    WEBHOOK_RETRY_DELAYS_MS: '10,10,10,10,10',
  });

  beforeAll(async () => {
    isolated = await openIsolatedDatabase();
    database = isolated.database;
    workspaceId = (await createWorkspace(database.sql, { name: 'Webhook workers' })).workspaceId;
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.stop('SIGKILL')));
    await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
  });
  afterAll(async () => {
    await isolated?.close();
  });

  async function endpoint(url: string, secret: string) {
    const id = `whk_${randomUUID().replaceAll('-', '')}`;
    await database.sql`insert into webhook_endpoints (id, workspace_id, url, events) values (${id}, ${workspaceId}, ${url}, ${['*']})`;
    await database.sql`insert into webhook_secrets (id, endpoint_id, sealed) values (${`whs_${randomUUID().replaceAll('-', '')}`}, ${id}, ${sealSecret(sealingKey, id, secret)})`;
    return id;
  }

  /** `count` events, each with a delivery to `endpointId`, committed in one transaction as an outbox would. */
  async function events(endpointId: string, count: number) {
    const ids = Array.from({ length: count }, () => randomUUID().replaceAll('-', ''));
    await database.sql.begin(async (tx) => {
      await tx`
        insert into webhook_events (id, workspace_id, type, data)
        select 'evt_' || suffix, ${workspaceId}, 'record.created', jsonb_build_object('id', 'rec_' || suffix)
        from unnest(${ids}::text[]) as suffix`;
      await tx`
        insert into webhook_deliveries (id, event_id, endpoint_id, event_type)
        select 'dlv_' || suffix, 'evt_' || suffix, ${endpointId}, 'record.created'
        from unnest(${ids}::text[]) as suffix`;
    });
    return ids.map((suffix) => ({ eventId: `evt_${suffix}`, deliveryId: `dlv_${suffix}` }));
  }

  async function statuses(endpointId: string) {
    const rows = await database.sql<{ status: string; n: number }[]>`
      select status, count(*)::int as n from webhook_deliveries where endpoint_id = ${endpointId} group by status`;
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }

  it('two worker processes deliver 1,000 events, each exactly once', async () => {
    const target = await startReceiver(() => 204);
    receivers.push(target);
    const secret = generateWebhookSecret();
    const endpointId = await endpoint(`${target.url}/shared`, secret);
    workers.push(...(await Promise.all([startWorkerProcess(env()), startWorkerProcess(env())])));
    const sent = await events(endpointId, 1_000);

    await waitFor('every delivery to succeed', async () => (await statuses(endpointId)).success === 1_000, 240_000);
    const counts = target.countById();
    expect(counts.size).toBe(1_000);
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    expect(new Set(counts.keys())).toEqual(new Set(sent.map((entry) => entry.eventId)));
    const attempts = await database.sql<{ n: number }[]>`
      select count(*)::int as n from webhook_attempts a join webhook_deliveries d on d.id = a.delivery_id where d.endpoint_id = ${endpointId}`;
    expect(attempts[0]?.n).toBe(1_000);
    const sample = target.received[0];
    expect(await verifyWebhook(sample?.body ?? '', sample?.headers as Record<string, string>, secret)).toMatchObject({ type: 'record.created' });
    // Both processes took a share: each says on SIGTERM how many attempts it made.
    const running = workers.splice(0);
    expect(await Promise.all(running.map((worker) => worker.stop('SIGTERM')))).toEqual([0, 0]);
    const shares = running.map((worker) => Number(/after (\d+) delivery attempts/.exec(worker.output())?.[1]));
    expect(shares.every((share) => share > 0)).toBe(true);
    expect((shares[0] ?? 0) + (shares[1] ?? 0)).toBe(1_000);
  });

  it('a worker killed in the middle of a delivery: another sends the event again, with the same webhook-id', async () => {
    let holding = true;
    const target = await startReceiver(async (_request, index) => {
      // The first request is held until its worker has been killed; the others are answered.
      if (index === 0) await waitFor('the test to kill the worker', () => !holding, 120_000);
      return 200;
    });
    receivers.push(target);
    const endpointId = await endpoint(`${target.url}/crash`, generateWebhookSecret());
    // A short lease, so that the dead worker's claim runs out soon after it dies.
    const doomed = await startWorkerProcess({ ...env(), WEBHOOK_TIMEOUT_MS: '1000' });
    workers.push(doomed);
    const [only] = (await events(endpointId, 1)) as [{ eventId: string; deliveryId: string }];
    await waitFor('the first attempt to reach the receiver', () => target.received.length === 1);
    expect(await doomed.stop('SIGKILL')).toBeNull();
    holding = false;
    const [claimed] = await database.sql<{ attempt: number; locked_by: string | null }[]>`select attempt, locked_by from webhook_deliveries where id = ${only.deliveryId}`;
    expect(claimed).toMatchObject({ attempt: 0, locked_by: expect.any(String) });

    workers.push(await startWorkerProcess(env()));
    await waitFor('the delivery to succeed', async () => (await statuses(endpointId)).success === 1, 120_000);
    expect(target.received.map((request) => request.id)).toEqual([only.eventId, only.eventId]);
    const recorded = await database.sql<{ attempt: number; status_code: number }[]>`select attempt, status_code from webhook_attempts where delivery_id = ${only.deliveryId}`;
    expect(recorded).toEqual([{ attempt: 1, status_code: 200 }]);
  });

  it('an API process killed right after committing a change: its event is delivered once the API is back', async () => {
    // The receiver answers nothing until the first process is dead, so that process cannot deliver.
    let holding = true;
    const target = await startReceiver(async () => {
      await waitFor('the first API process to be killed', () => !holding, 120_000);
      return 200;
    });
    receivers.push(target);
    const key = (await createWorkspace(database.sql, { name: 'Killed API' })).key;
    const doomed: ApiProcess = await startApiProcess({ ...env(), WEBHOOK_TIMEOUT_MS: '1000' });
    let survivor: ApiProcess | undefined;
    try {
      const created = await call({ url: doomed.url, key }, 'POST', '/webhooks', { body: { url: `${target.url}/api`, events: ['module.*'] } });
      expect(created.status).toBe(201);
      const module = await call({ url: doomed.url, key }, 'POST', '/modules', { body: { name: 'Committed', fields: [{ name: 'n', type: 'number' }] } });
      expect(module.status).toBe(201);
      expect(await doomed.stop('SIGKILL')).toBeNull();
      holding = false;

      survivor = await startApiProcess(env());
      await waitFor('the event to be delivered', async () => {
        const [row] = await database.sql<{ status: string }[]>`select status from webhook_deliveries where endpoint_id = ${created.body.id}`;
        return row?.status === 'success';
      }, 120_000);
      const ids = new Set(target.received.map((request) => request.id));
      expect(ids.size).toBe(1);
      const delivered = target.received.at(-1);
      const event = await verifyWebhook<{ type: string; data: { id: string; name: string } }>(delivered?.body ?? '', delivered?.headers as Record<string, string>, created.body.secret);
      expect(event).toMatchObject({ type: 'module.created', data: { id: module.body.id, name: 'Committed' } });
    } finally {
      await Promise.all([doomed.stop('SIGKILL'), survivor?.stop()]);
    }
  });

  it('SIGTERM lets the attempt in flight finish and record before the process exits', async () => {
    let release = () => {};
    const answer = new Promise<number>((resolve) => {
      release = () => resolve(200);
    });
    const target = await startReceiver(() => answer);
    receivers.push(target);
    const endpointId = await endpoint(`${target.url}/slow`, generateWebhookSecret());
    const worker = await startWorkerProcess(env());
    workers.push(worker);
    const [only] = (await events(endpointId, 1)) as [{ eventId: string; deliveryId: string }];
    await waitFor('the request to arrive', () => target.received.length === 1);
    const exited = worker.stop('SIGTERM');
    await waitFor('the worker to say it is finishing', () => /finishing/i.test(worker.output()));
    release();
    expect(await exited).toBe(0);
    const [row] = await database.sql<{ status: string; attempt: number }[]>`select status, attempt from webhook_deliveries where id = ${only.deliveryId}`;
    expect(row).toEqual({ status: 'success', attempt: 1 });
  });
});
