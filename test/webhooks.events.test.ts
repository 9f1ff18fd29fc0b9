import { randomBytes } from 'node:crypto';
import { verifyWebhook } from '@charter/client';
import { WEBHOOK_EVENT_SCHEMAS, WEBHOOK_EVENT_TYPES, type WebhookEventType } from '@charter/contracts';
import { createApp, createWebhookWorker, createWorkspace, listen, type RunningServer, retryPolicy, type WebhookWorker } from '@charter/server';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IsolatedDatabase, openIsolatedDatabase } from './support/isolated-database.ts';
import { call } from './support/server.ts';
import { type Receiver, startReceiver, waitFor } from './support/webhook-receiver.ts';

// Every event type, from a real change through the API to a real receiver: outbox, worker, signature.
describe('webhook events end to end', () => {
  const sealingKey = randomBytes(32);
  let isolated: IsolatedDatabase;
  let running: RunningServer;
  let worker: WebhookWorker;
  let target: Receiver;
  let server: { url: string; key: string };
  let workspaceId: string;

  beforeAll(async () => {
    isolated = await openIsolatedDatabase();
    const webhooks = { sealingKey, allowedHosts: ['127.0.0.1'], timeoutMs: 5_000 };
    const app = createApp({ sql: isolated.database.sql, logError: () => {}, addressLimitPerMinute: 1_000_000, webhooks });
    running = await listen(app, 0);
    const workspace = await createWorkspace(isolated.database.sql, { name: 'Webhook events' });
    server = { url: running.url, key: workspace.key };
    workspaceId = workspace.workspaceId;
    target = await startReceiver(() => 200);
    worker = createWebhookWorker({
      sql: isolated.database.sql,
      sealingKey,
      listen: false,
      pollIntervalMs: 50,
      http: webhooks,
      policy: retryPolicy({ delaysMs: [1, 1, 1], jitter: 0 }),
      logError: () => {},
    });
    await worker.start();
  });
  afterAll(async () => {
    await worker?.stop();
    await running?.close(1_000);
    await target?.close();
    await isolated?.close();
  });

  it('sends every event type signed: the client and the standardwebhooks package verify each one, and each matches its schema', async () => {
    const created = await call(server, 'POST', '/webhooks', { body: { url: `${target.url}/all`, events: ['*'] } });
    expect(created.status).toBe(201);
    const secret: string = created.body.secret;

    const module = await call(server, 'POST', '/modules', { body: { name: 'Contacts', fields: [{ name: 'email', type: 'string' }] } });
    expect(module.status).toBe(201);
    const moduleId: string = module.body.id;
    expect((await call(server, 'PATCH', `/modules/${moduleId}`, { body: { name: 'People' } })).status).toBe(200);
    const record = await call(server, 'POST', `/modules/${moduleId}/records`, { body: { data: { email: 'ada@example.com' } } });
    expect(record.status).toBe(201);
    expect((await call(server, 'PATCH', `/modules/${moduleId}/records/${record.body.id}`, { body: { data: { email: 'ada@example.org' } } })).status).toBe(200);
    expect((await call(server, 'DELETE', `/modules/${moduleId}/records/${record.body.id}`)).status).toBe(204);
    expect((await call(server, 'DELETE', `/modules/${moduleId}`)).status).toBe(204);
    const key = await call(server, 'POST', '/api-keys', { body: { name: 'events', scopes: ['modules:read'] } });
    expect(key.status).toBe(201);
    expect((await call(server, 'POST', `/api-keys/${key.body.id}/rotate`, { body: {} })).status).toBe(200);
    expect((await call(server, 'DELETE', `/api-keys/${key.body.id}`)).status).toBe(204);
    const test = await call(server, 'POST', `/webhooks/${created.body.id}/test`);
    expect(test.body).toMatchObject({ success: true, status_code: 200 });

    const types = () => new Set(target.received.map((request) => (JSON.parse(request.body) as { type: string }).type));
    await waitFor('every event type', () => WEBHOOK_EVENT_TYPES.every((type) => types().has(type)));

    for (const request of target.received) {
      const headers = request.headers as Record<string, string>;
      const event = await verifyWebhook<{ id: string; type: WebhookEventType; workspace_id: string }>(request.body, headers, secret);
      expect(new Webhook(secret).verify(request.body, headers)).toEqual(event);
      expect(event.id).toBe(request.id);
      expect(event.workspace_id).toBe(workspaceId);
      expect(() => WEBHOOK_EVENT_SCHEMAS[event.type].parse(event), event.type).not.toThrow();
    }
    // Each outbox event was delivered once.
    const outbox = target.received.filter((request) => !request.body.includes('"webhook.test"'));
    expect(new Set(outbox.map((request) => request.id)).size).toBe(outbox.length);
    expect(outbox).toHaveLength(WEBHOOK_EVENT_TYPES.length - 1);
  });
});
