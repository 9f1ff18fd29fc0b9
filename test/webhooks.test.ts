import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { WEBHOOK_EVENT_SCHEMAS, type WebhookEventType } from '@charter/contracts';
import { type AppOptions, createApp, createWorkspace, defaultHandlers, eventBody, listen } from '@charter/server';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, startReceiver } from './support/receiver.ts';
import { call, createModule, startTestServer, type TestServer } from './support/server.ts';

interface Sibling {
  url: string;
  key: string;
  workspaceId: string;
  close(): Promise<void>;
}

const sealingKey = randomBytes(32);
let server: TestServer;
let receiver: Receiver;

beforeAll(async () => {
  server = await startTestServer({ webhooks: { sealingKey, allowedHosts: ['127.0.0.1'] } });
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
  await server.close();
});

/**
 * Another server over the same database connection, serving a new workspace: the embedded
 * database runs one session, so a second connection's statements would interleave with the first's.
 */
async function sibling(options: Partial<AppOptions> = {}): Promise<Sibling> {
  const { database } = server;
  const app = createApp({
    sql: database.sql,
    fastSql: database.fastSql,
    logError: process.env.TEST_LOG ? undefined : () => {},
    addressLimitPerMinute: 1_000_000,
    webhooks: { sealingKey, allowedHosts: ['127.0.0.1'] },
    ...options,
  });
  const running = await listen(app, 0);
  const workspace = await createWorkspace(database.sql, { name: 'Webhook tests' });
  return { url: running.url, key: workspace.key, workspaceId: workspace.workspaceId, close: () => running.close(1_000) };
}

async function createWebhook(target: { url: string; key: string }, body: Record<string, unknown>) {
  const response = await call(target, 'POST', '/webhooks', { body });
  if (response.status !== 201) throw new Error(`createWebhook: ${response.status} ${response.text}`);
  return response.body;
}

async function issueKey(scopes: string[], target: { url: string; key: string } = server): Promise<string> {
  const response = await call(target, 'POST', '/api-keys', { body: { name: 'Webhook test key', scopes } });
  if (response.status !== 201) throw new Error(`issueKey: ${response.status} ${response.text}`);
  return response.body.key;
}

/** The workspace's events, oldest first, each as its delivery body would carry it. */
async function events(workspaceId: string): Promise<Array<{ id: string; type: WebhookEventType; data: any; workspace_id: string; created_at: string }>> {
  const rows = await server.database.sql<{ id: string; type: string; workspace_id: string; data: unknown; created_at: Date }[]>`
    select id, type, workspace_id, data, created_at from webhook_events where workspace_id = ${workspaceId} order by id`;
  return rows.map((row) => JSON.parse(eventBody(row)));
}

/** Verifies a Standard Webhooks request with the reference `standardwebhooks` package. */
function verifiesWith(secret: string, request: { headers: Record<string, unknown>; body: string }): boolean {
  try {
    new Webhook(secret).verify(request.body, request.headers as Record<string, string>);
    return true;
  } catch {
    return false;
  }
}

describe('webhook endpoints', () => {
  it('are created with a whsec_ secret shown once, then read, listed, updated and deleted', async () => {
    const created = await call(server, 'POST', '/webhooks', { body: { url: receiver.url, events: ['record.*', 'record.*'], description: 'CRM' } });
    expect(created.status, created.text).toBe(201);
    expect(created.headers.get('cache-control')).toBe('no-store');
    expect(created.body).toMatchObject({
      url: receiver.url,
      events: ['record.*'],
      description: 'CRM',
      is_active: true,
      disabled_reason: null,
      signing: 'hmac',
      public_key: null,
      success_count: 0,
      failure_count: 0,
      consecutive_failures: 0,
      last_delivery_at: null,
    });
    expect(created.body.id).toMatch(/^whk_[0-9a-z]{26}$/);
    expect(created.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const { secret, ...endpoint } = created.body;

    const got = await call(server, 'GET', `/webhooks/${endpoint.id}`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual(endpoint);
    expect(got.text).not.toContain(secret);
    expect(got.headers.get('cache-control')).toBeNull();

    const list = await call(server, 'GET', '/webhooks?limit=100');
    expect(list.status).toBe(200);
    expect(list.body.data).toContainEqual(endpoint);
    expect(list.text).not.toContain('whsec_');

    const patched = await call(server, 'PATCH', `/webhooks/${endpoint.id}`, { body: { events: ['*'], description: null, is_active: false } });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ events: ['*'], description: null, is_active: false, disabled_reason: null });

    expect((await call(server, 'DELETE', `/webhooks/${endpoint.id}`)).status).toBe(204);
    expect((await call(server, 'GET', `/webhooks/${endpoint.id}`)).status).toBe(404);
    expect((await call(server, 'DELETE', `/webhooks/${endpoint.id}`)).status).toBe(404);
  });

  it('list paginates like every list', async () => {
    const other = await sibling();
    try {
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push((await createWebhook(other, { url: `${receiver.url}?n=${i}`, events: ['*'] })).id);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await call(other, 'GET', `/webhooks?limit=2&sort=created_at${cursor ? `&cursor=${cursor}` : ''}`);
        expect(page.status).toBe(200);
        expect(page.body.total).toBe(5);
        seen.push(...page.body.data.map((item: { id: string }) => item.id));
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(seen).toEqual(ids);
      const sparse = await call(other, 'GET', '/webhooks?fields=url&limit=1');
      expect(Object.keys(sparse.body.data[0]).sort()).toEqual(['id', 'url']);
    } finally {
      await other.close();
    }
  });

  it('take scopes webhooks:read, webhooks:write and webhooks:delete', async () => {
    const reader = await issueKey(['webhooks:read']);
    const writer = await issueKey(['webhooks:write']);
    const stranger = await issueKey(['records:*', 'modules:*']);
    const endpoint = await createWebhook(server, { url: receiver.url, events: ['*'] });

    expect((await call(server, 'GET', `/webhooks/${endpoint.id}`, { key: reader })).status).toBe(200);
    expect((await call(server, 'GET', '/webhooks', { key: reader })).status).toBe(200);
    const denied = await call(server, 'POST', '/webhooks', { key: reader, body: { url: receiver.url, events: ['*'] } });
    expect(denied.status).toBe(403);
    expect(denied.body.required_scopes).toEqual(['webhooks:write']);
    expect((await call(server, 'POST', `/webhooks/${endpoint.id}/rotate-secret`, { key: reader, body: {} })).status).toBe(403);
    expect((await call(server, 'POST', `/webhooks/${endpoint.id}/test`, { key: reader, body: {} })).status).toBe(403);

    expect((await call(server, 'PATCH', `/webhooks/${endpoint.id}`, { key: writer, body: { events: ['module.*'] } })).status).toBe(200);
    const noDelete = await call(server, 'DELETE', `/webhooks/${endpoint.id}`, { key: writer });
    expect(noDelete.status).toBe(403);
    expect(noDelete.body.required_scopes).toEqual(['webhooks:delete']);
    expect((await call(server, 'GET', `/webhooks/${endpoint.id}/deliveries`, { key: writer })).status).toBe(403);

    for (const [method, path] of [['GET', '/webhooks'], ['GET', `/webhooks/${endpoint.id}`], ['GET', `/webhooks/${endpoint.id}/deliveries`]] as const) {
      expect((await call(server, method, path, { key: stranger })).status).toBe(403);
    }
  });

  it('refuse URLs they must never call, field by field in a 422', async () => {
    // A server that allows no host: loopback, private, link-local and plain HTTP are refused.
    const strict = await sibling({ webhooks: { sealingKey } });
    try {
      const cases = [
        'http://example.com/hook',
        'https://127.0.0.1/hook',
        'https://[::1]/hook',
        'https://169.254.169.254/latest/meta-data',
        'https://10.0.0.7/hook',
        'https://user:secret@example.com/hook',
        'ftp://example.com/hook',
        'not a url',
        'https://example.com/\u0000',
        receiver.url,
      ];
      for (const url of cases) {
        const response = await call(strict, 'POST', '/webhooks', { body: { url, events: ['*'] } });
        expect(response.status, url).toBe(422);
        expect(response.body.error).toBe('validation_failed');
        expect(Object.keys(response.body.errors), url).toEqual(['url']);
      }
      const ok = await createWebhook(strict, { url: 'https://example.com/hook', events: ['*'] });
      const patched = await call(strict, 'PATCH', `/webhooks/${ok.id}`, { body: { url: 'https://169.254.169.254/' } });
      expect(patched.status).toBe(422);
      expect(patched.body.errors.url[0]).toMatch(/metadata/);
      expect((await call(strict, 'GET', `/webhooks/${ok.id}`)).body.url).toBe('https://example.com/hook');
      const badEvents = await call(strict, 'POST', '/webhooks', { body: { url: 'https://example.com/hook', events: ['record.exploded'] } });
      expect(badEvents.status).toBe(422);
      expect((await call(strict, 'POST', '/webhooks', { body: { url: 'https://example.com/hook', events: [] } })).status).toBe(422);
    } finally {
      await strict.close();
    }
  });

  it('belong to their workspace: another workspace\'s endpoint is not found, and gets none of its events', async () => {
    const other = await sibling();
    try {
      const mine = await createWebhook(server, { url: receiver.url, events: ['*'] });
      const theirs = await createWebhook(other, { url: receiver.url, events: ['*'] });
      await createModule(other);
      const [delivery] = (await call(other, 'GET', `/webhooks/${theirs.id}/deliveries`)).body.data;
      expect(delivery.event_type).toBe('module.created');
      for (const [method, path] of [
        ['GET', `/webhooks/${theirs.id}`],
        ['PATCH', `/webhooks/${theirs.id}`],
        ['DELETE', `/webhooks/${theirs.id}`],
        ['POST', `/webhooks/${theirs.id}/rotate-secret`],
        ['POST', `/webhooks/${theirs.id}/test`],
        ['GET', `/webhooks/${theirs.id}/deliveries`],
        ['POST', `/webhooks/${theirs.id}/deliveries/${delivery.id}/retry`],
        ['POST', `/webhooks/${mine.id}/deliveries/${delivery.id}/retry`],
      ] as const) {
        const response = await call(server, method, path, method === 'GET' || method === 'DELETE' ? {} : { body: {} });
        expect(response.status, `${method} ${path}`).toBe(404);
        expect(response.body.error).toBe('not_found');
      }
      expect((await call(server, 'GET', '/webhooks?limit=100')).body.data.map((item: { id: string }) => item.id)).not.toContain(theirs.id);
      expect((await call(server, 'GET', `/webhooks/${mine.id}/deliveries`)).body.data).toEqual([]);
      const [row] = await server.database.sql<{ n: number }[]>`
        select count(*)::int as n from webhook_deliveries d join webhook_events e on e.id = d.event_id
        where d.endpoint_id = ${mine.id} and e.workspace_id <> ${server.workspaceId}`;
      expect(row?.n).toBe(0);
    } finally {
      await other.close();
    }
  });
});

describe('events', () => {
  it('carry each resource in its API form, typed by the contracts, to the endpoints subscribed to them', async () => {
    const target = await sibling();
    try {
      const all = await createWebhook(target, { url: receiver.url, events: ['*'] });
      const records = await createWebhook(target, { url: receiver.url, events: ['record.*'] });
      const keys = await createWebhook(target, { url: receiver.url, events: ['api_key.revoked'] });
      const off = await createWebhook(target, { url: receiver.url, events: ['*'] });
      expect((await call(target, 'PATCH', `/webhooks/${off.id}`, { body: { is_active: false } })).status).toBe(200);

      const expected: Array<{ type: WebhookEventType; data: unknown }> = [];
      const module = await call(target, 'POST', '/modules', { body: { name: 'Contacts', fields: [{ name: 'email', type: 'string' }] } });
      expected.push({ type: 'module.created', data: module.body });
      const renamed = await call(target, 'PATCH', `/modules/${module.body.id}`, { body: { name: 'People' } });
      expected.push({ type: 'module.updated', data: renamed.body });
      const record = await call(target, 'POST', `/modules/${module.body.id}/records`, { body: { data: { email: 'ada@example.com' } } });
      expected.push({ type: 'record.created', data: record.body });
      const changed = await call(target, 'PATCH', `/modules/${module.body.id}/records/${record.body.id}`, { body: { data: { email: 'ada@lovelace.dev' } } });
      expected.push({ type: 'record.updated', data: changed.body });
      expect((await call(target, 'DELETE', `/modules/${module.body.id}/records/${record.body.id}`)).status).toBe(204);
      expected.push({ type: 'record.deleted', data: changed.body });
      const { key: _secret, ...issued } = (await call(target, 'POST', '/api-keys', { body: { name: 'Integration', scopes: ['records:read'] } })).body;
      expected.push({ type: 'api_key.created', data: issued });
      const { key: _new, grace_period_ends_at: _ends, ...rotated } = (await call(target, 'POST', `/api-keys/${issued.id}/rotate`, { body: {} })).body;
      expected.push({ type: 'api_key.rotated', data: rotated });
      expect((await call(target, 'DELETE', `/api-keys/${issued.id}`)).status).toBe(204);
      expected.push({ type: 'api_key.revoked', data: { ...rotated, updated_at: expect.any(String) } });
      expect((await call(target, 'DELETE', `/modules/${module.body.id}`)).status).toBe(204);
      expected.push({ type: 'module.deleted', data: renamed.body });

      const written = await events(target.workspaceId);
      expect(written.map(({ type, data }) => ({ type, data }))).toEqual(expected);
      for (const event of written) {
        expect(event.id).toMatch(/^evt_[0-9a-z]{26}$/);
        expect(event.workspace_id).toBe(target.workspaceId);
        // Exactly the contract's schema for its type: nothing missing, nothing extra.
        expect(WEBHOOK_EVENT_SCHEMAS[event.type].strict().parse(event)).toEqual(event);
      }

      const deliveredTypes = async (id: string) =>
        (await call(target, 'GET', `/webhooks/${id}/deliveries?limit=100&sort=created_at`)).body.data.map((delivery: { event_type: string }) => delivery.event_type);
      expect(await deliveredTypes(all.id)).toEqual(expected.map((event) => event.type));
      expect(await deliveredTypes(records.id)).toEqual(['record.created', 'record.updated', 'record.deleted']);
      expect(await deliveredTypes(keys.id)).toEqual(['api_key.revoked']);
      expect(await deliveredTypes(off.id)).toEqual([]);
    } finally {
      await target.close();
    }
  });

  it('of a rolled-back change are never written', async () => {
    const failing = await sibling({
      handlers: {
        // The change and its event are written, then the request fails: both must go.
        createRecord: async (ctx, input) => {
          const record = await defaultHandlers.createRecord(ctx, input);
          if (input.data.email === 'fail@example.com') throw new Error('fails after the event was recorded');
          return record;
        },
      },
    });
    try {
      const endpoint = await createWebhook(failing, { url: receiver.url, events: ['record.*'] });
      const module = await createModule(failing, [{ name: 'email', type: 'string' }]);
      const post = (email: string, idempotencyKey: string) =>
        call(failing, 'POST', `/modules/${module.id}/records`, { body: { data: { email } }, headers: { 'idempotency-key': idempotencyKey } });
      const kept = await post('kept@example.com', `kept-${Date.now()}`);
      expect(kept.status).toBe(201);
      const failed = await post('fail@example.com', `fail-${Date.now()}`);
      expect(failed.status).toBe(500);

      const written = await events(failing.workspaceId);
      expect(written.map((event) => [event.type, event.data.data.email])).toEqual([['record.created', 'kept@example.com']]);
      const deliveries = (await call(failing, 'GET', `/webhooks/${endpoint.id}/deliveries`)).body;
      expect(deliveries.total).toBe(1);
      const records = (await call(failing, 'GET', `/modules/${module.id}/records`)).body;
      expect(records.data.map((record: { data: { email: string } }) => record.data.email)).toEqual(['kept@example.com']);
    } finally {
      await failing.close();
    }
  });
});

describe('the test call', () => {
  it('sends a signed webhook.test event now and answers what the endpoint said', async () => {
    const endpoint = await createWebhook(server, { url: receiver.url, events: ['record.created'] });
    const from = receiver.received.length;
    receiver.respond(200, 'thanks');
    const result = await call(server, 'POST', `/webhooks/${endpoint.id}/test`, { body: {} });
    expect(result.status, result.text).toBe(200);
    expect(result.body).toEqual({ success: true, status_code: 200, response_time_ms: expect.any(Number), response_body: 'thanks' });
    const request = await receiver.next(from);
    expect(verifiesWith(endpoint.secret, request)).toBe(true);
    const event = JSON.parse(request.body);
    expect(WEBHOOK_EVENT_SCHEMAS['webhook.test'].strict().parse(event)).toEqual(event);
    expect(event).toMatchObject({ type: 'webhook.test', workspace_id: server.workspaceId, data: { webhook_id: endpoint.id } });
    expect(request.headers['webhook-id']).toBe(event.id);
    expect(request.headers['content-type']).toMatch(/^application\/json/);
    // Nothing queued, no counter moved.
    expect((await call(server, 'GET', `/webhooks/${endpoint.id}/deliveries`)).body.total).toBe(0);
    expect((await call(server, 'GET', `/webhooks/${endpoint.id}`)).body.success_count).toBe(0);
  });

  it('reports a failing endpoint, cuts a long answer, and refuses an address it may not call', async () => {
    const endpoint = await createWebhook(server, { url: receiver.url, events: ['*'] });
    receiver.respond(503, 'x'.repeat(100_000));
    const failing = await call(server, 'POST', `/webhooks/${endpoint.id}/test`, { body: {} });
    expect(failing.body).toMatchObject({ success: false, status_code: 503 });
    expect(failing.body.response_body.length).toBeGreaterThan(0);
    expect(failing.body.response_body.length).toBeLessThanOrEqual(4096);
    receiver.respond(200, 'ok');

    // localhost is a name, so it passes the URL check; at the call it resolves to loopback, which
    // this server does not allow: refused before anything is sent.
    const strict = await sibling({ webhooks: { sealingKey } });
    try {
      const port = new URL(receiver.url).port;
      const sneaky = await createWebhook(strict, { url: `https://localhost:${port}/hook`, events: ['*'] });
      const before = receiver.received.length;
      const refused = await call(strict, 'POST', `/webhooks/${sneaky.id}/test`, { body: {} });
      expect(refused.status).toBe(200);
      expect(refused.body).toEqual({ success: false, error: expect.stringMatching(/loopback/), response_time_ms: expect.any(Number) });
      expect(receiver.received.length).toBe(before);
    } finally {
      await strict.close();
    }
  });
});

describe('secret rotation', () => {
  it('signs with both secrets during the grace period, then with the new one only', async () => {
    const endpoint = await createWebhook(server, { url: receiver.url, events: ['*'] });
    const rotated = await call(server, 'POST', `/webhooks/${endpoint.id}/rotate-secret`, { body: { grace_period_hours: 1 } });
    expect(rotated.status, rotated.text).toBe(200);
    expect(rotated.headers.get('cache-control')).toBe('no-store');
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(endpoint.secret);
    const graceEnds = Date.parse(rotated.body.previous_secret_expires_at);
    expect(graceEnds - Date.now()).toBeGreaterThan(59 * 60_000);
    expect(graceEnds - Date.now()).toBeLessThanOrEqual(60 * 60_000);

    const from = receiver.received.length;
    expect((await call(server, 'POST', `/webhooks/${endpoint.id}/test`, { body: {} })).body.success).toBe(true);
    const during = await receiver.next(from);
    expect(String(during.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifiesWith(endpoint.secret, during)).toBe(true);
    expect(verifiesWith(rotated.body.secret, during)).toBe(true);

    // A rotation with no grace period ends every earlier secret now.
    const again = await call(server, 'POST', `/webhooks/${endpoint.id}/rotate-secret`, { body: { grace_period_hours: 0 } });
    expect(again.status).toBe(200);
    const next = receiver.received.length;
    await call(server, 'POST', `/webhooks/${endpoint.id}/test`, { body: {} });
    const after = await receiver.next(next);
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifiesWith(again.body.secret, after)).toBe(true);
    expect(verifiesWith(rotated.body.secret, after)).toBe(false);
    expect(verifiesWith(endpoint.secret, after)).toBe(false);
  });

  it('with Ed25519 signing, shows a public key, never a secret, and signs v1a', async () => {
    const created = await call(server, 'POST', '/webhooks', { body: { url: receiver.url, events: ['*'], signing: 'ed25519' } });
    expect(created.status, created.text).toBe(201);
    expect(created.body.secret).toBeNull();
    expect(created.body.signing).toBe('ed25519');
    expect(created.body.public_key).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    expect((await call(server, 'GET', `/webhooks/${created.body.id}`)).body.public_key).toBe(created.body.public_key);
    expect((await call(server, 'GET', '/webhooks?limit=100')).body.data).toContainEqual(
      expect.objectContaining({ id: created.body.id, public_key: created.body.public_key }),
    );
    const rotated = (await call(server, 'POST', `/webhooks/${created.body.id}/rotate-secret`, { body: {} })).body;
    expect(rotated.secret).toBeNull();
    expect(rotated.public_key).toMatch(/^whpk_/);
    expect(rotated.public_key).not.toBe(created.body.public_key);

    const from = receiver.received.length;
    await call(server, 'POST', `/webhooks/${created.body.id}/test`, { body: {} });
    const request = await receiver.next(from);
    const signatures = String(request.headers['webhook-signature']).split(' ');
    expect(signatures.every((signature) => signature.startsWith('v1a,'))).toBe(true);
    const signed = Buffer.from(`${request.headers['webhook-id']}.${request.headers['webhook-timestamp']}.${request.body}`);
    const verifiesUnder = (publicKey: string) =>
      signatures.some((signature) =>
        verify(null, signed, createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey.slice(5), 'base64').toString('base64url') }, format: 'jwk' }), Buffer.from(signature.slice(4), 'base64')),
      );
    expect(verifiesUnder(rotated.public_key)).toBe(true);
    expect(verifiesUnder(created.body.public_key)).toBe(true);
  });
});

describe('deliveries', () => {
  it('list with status and event_type filters, and retry: due now, or 400 cannot_retry once succeeded or abandoned', async () => {
    const target = await sibling();
    try {
      const endpoint = await createWebhook(target, { url: receiver.url, events: ['*'] });
      const module = await createModule(target, [{ name: 'email', type: 'string' }]);
      for (let i = 0; i < 3; i++) await call(target, 'POST', `/modules/${module.id}/records`, { body: { data: { email: `${i}@example.com` } } });
      const list = (query = '') => call(target, 'GET', `/webhooks/${endpoint.id}/deliveries?sort=created_at${query}`);
      const all = (await list()).body;
      expect(all.total).toBe(4);
      expect(all.data.map((delivery: { event_type: string }) => delivery.event_type)).toEqual(['module.created', 'record.created', 'record.created', 'record.created']);
      for (const delivery of all.data) {
        expect(delivery).toMatchObject({ id: expect.stringMatching(/^dlv_/), event_id: expect.stringMatching(/^evt_/), status: 'pending', attempt: 0, response_code: null, delivered_at: null });
        expect(delivery.next_retry_at).toEqual(expect.any(String));
      }
      expect((await list('&event_type=record.created')).body.total).toBe(3);
      expect((await list('&event_type=module.deleted')).body.total).toBe(0);
      const [succeeded, abandoned, retrying] = all.data.slice(1) as Array<{ id: string }>;
      // The worker's outcomes, written as it writes them.
      const { sql } = server.database;
      await sql`update webhook_deliveries set status = 'success', attempt = 1, response_code = 200, delivered_at = now(), next_attempt_at = null where id = ${succeeded?.id ?? ''}`;
      await sql`update webhook_deliveries set status = 'failed', attempt = 8, response_code = 500, next_attempt_at = null where id = ${abandoned?.id ?? ''}`;
      await sql`update webhook_deliveries set status = 'retrying', attempt = 2, response_code = 502, next_attempt_at = now() + interval '3 hours' where id = ${retrying?.id ?? ''}`;
      expect((await list('&status=success')).body.data.map((delivery: { id: string }) => delivery.id)).toEqual([succeeded?.id]);
      expect((await list('&status=failed')).body.data.map((delivery: { id: string }) => delivery.id)).toEqual([abandoned?.id]);
      expect((await list('&status=retrying&event_type=record.created')).body.data[0]).toMatchObject({ id: retrying?.id, attempt: 2, response_code: 502 });
      expect((await list('&status=pending')).body.total).toBe(1);
      expect((await list('&status=lost')).status).toBe(422);
      expect((await list('&event_type=record.exploded')).status).toBe(422);

      for (const done of [succeeded, abandoned]) {
        const refused = await call(target, 'POST', `/webhooks/${endpoint.id}/deliveries/${done?.id}/retry`, { body: {} });
        expect(refused.status).toBe(400);
        expect(refused.body).toMatchObject({ error: 'cannot_retry', request_id: expect.stringMatching(/^req_/) });
      }
      const before = Date.now();
      const retried = await call(target, 'POST', `/webhooks/${endpoint.id}/deliveries/${retrying?.id}/retry`, { body: {} });
      expect(retried.status, retried.text).toBe(200);
      expect(retried.body).toMatchObject({ id: retrying?.id, status: 'retrying', attempt: 2 });
      expect(Date.parse(retried.body.next_retry_at)).toBeLessThan(before + 60 * 60_000);
      const [due] = await sql<{ due: boolean }[]>`select next_attempt_at <= now() as due from webhook_deliveries where id = ${retrying?.id ?? ''}`;
      expect(due?.due).toBe(true);
      expect((await call(target, 'POST', `/webhooks/${endpoint.id}/deliveries/dlv_01jd8x3k5q9v2m7n4p6r8t0w1y/retry`, { body: {} })).status).toBe(404);
    } finally {
      await target.close();
    }
  });

  it('PATCH is_active: true switches an endpoint switched off automatically back on, and clears the reason', async () => {
    const endpoint = await createWebhook(server, { url: receiver.url, events: ['*'] });
    await server.database.sql`
      update webhook_endpoints set is_active = false, disabled_reason = 'Switched off after 15 consecutive failed attempts.', consecutive_failures = 15
      where id = ${endpoint.id}`;
    const off = (await call(server, 'GET', `/webhooks/${endpoint.id}`)).body;
    expect(off).toMatchObject({ is_active: false, disabled_reason: expect.stringMatching(/consecutive/) });
    const on = await call(server, 'PATCH', `/webhooks/${endpoint.id}`, { body: { is_active: true } });
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ is_active: true, disabled_reason: null, consecutive_failures: 0 });
  });
});
