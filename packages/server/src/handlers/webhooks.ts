import type { WebhookDelivery, WebhookEndpoint } from '@charter/contracts';
import { type Queryable, type TransactionSql, transaction } from '@charter/db';
import { ApiError, notFound, validationFailed } from '../errors.ts';
import { newId } from '../ids.ts';
import { servePage } from '../lists.ts';
import { q } from '../sql-text.ts';
import type { WebhookOptions } from '../webhooks/options.ts';
import { eventBody } from '../webhooks/outbox.ts';
import { checkWebhookUrl, postWebhook } from '../webhooks/safe-http.ts';
import { openSecret, sealSecret } from '../webhooks/secrets.ts';
import { generateWebhookKeyPair, generateWebhookSecret, webhookHeaders } from '../webhooks/signing.ts';
import { iso } from './serialize.ts';
import type { Handler, Handlers } from './types.ts';

interface EndpointRow {
  id: string;
  workspace_id: string;
  url: string;
  events: string[];
  description: string | null;
  is_active: boolean;
  disabled_reason: string | null;
  signing_kind: 'hmac' | 'ed25519';
  // bigint columns arrive as text.
  success_count: string;
  failure_count: string;
  consecutive_failures: number;
  last_delivery_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

interface DeliveryRow {
  id: string;
  event_id: string;
  event_type: WebhookDelivery['event_type'];
  status: WebhookDelivery['status'];
  attempt: number;
  response_code: number | null;
  next_attempt_at: Date | null;
  delivered_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

function toEndpoint(row: EndpointRow, publicKey: string | null): WebhookEndpoint {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    description: row.description,
    is_active: row.is_active,
    disabled_reason: row.disabled_reason,
    signing: row.signing_kind,
    public_key: publicKey,
    success_count: Number(row.success_count),
    failure_count: Number(row.failure_count),
    consecutive_failures: row.consecutive_failures,
    last_delivery_at: row.last_delivery_at && iso(row.last_delivery_at),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

function toDelivery(row: DeliveryRow): WebhookDelivery {
  const waiting = row.status === 'pending' || row.status === 'retrying';
  return {
    id: row.id,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status,
    attempt: row.attempt,
    response_code: row.response_code,
    next_retry_at: waiting && row.next_attempt_at ? iso(row.next_attempt_at) : null,
    delivered_at: row.delivered_at && iso(row.delivered_at),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/** The current Ed25519 public key of each of `ids` that signs that way. */
async function publicKeys(sql: Queryable, ids: string[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await sql<{ endpoint_id: string; public_key: string }[]>`
    select endpoint_id, public_key from webhook_secrets
    where endpoint_id = any(${ids}::text[]) and expires_at is null and public_key is not null`;
  return new Map(rows.map((row) => [row.endpoint_id, row.public_key]));
}

async function findEndpoint(sql: Queryable, workspaceId: string, id: string, lock = false): Promise<EndpointRow> {
  const [row] = lock
    ? await sql<EndpointRow[]>`select * from webhook_endpoints where id = ${id} and workspace_id = ${workspaceId} for update`
    : await sql<EndpointRow[]>`select * from webhook_endpoints where id = ${id} and workspace_id = ${workspaceId}`;
  if (!row) throw notFound('Webhook endpoint');
  return row;
}

async function present(sql: Queryable, row: EndpointRow): Promise<WebhookEndpoint> {
  return toEndpoint(row, (await publicKeys(sql, [row.id])).get(row.id) ?? null);
}

/** A new secret of the endpoint's kind, sealed in its own row: `secret` is what the caller sees (null for Ed25519). */
async function addSecret(tx: TransactionSql, endpointId: string, kind: EndpointRow['signing_kind'], key: Buffer): Promise<string | null> {
  const made = kind === 'ed25519' ? generateWebhookKeyPair() : { secretKey: generateWebhookSecret(), publicKey: null };
  await tx`
    insert into webhook_secrets (id, endpoint_id, sealed, public_key)
    values (${newId('webhookSecret')}, ${endpointId}, ${sealSecret(key, endpointId, made.secretKey)}, ${made.publicKey})`;
  return made.publicKey === null ? made.secretKey : null;
}

/** The secrets that sign the endpoint's deliveries now, the current one first, opened. */
async function liveSecrets(sql: Queryable, endpointId: string, key: Buffer): Promise<string[]> {
  const rows = await sql<{ sealed: Buffer }[]>`
    select sealed from webhook_secrets
    where endpoint_id = ${endpointId} and (expires_at is null or expires_at > now())
    order by expires_at desc nulls first, created_at desc`;
  return rows.map((row) => openSecret(key, endpointId, row.sealed));
}

/** The endpoints' handlers, bound to the settings of the server that serves them. */
export function webhookHandlers(options: WebhookOptions): Pick<
  Handlers,
  | 'listWebhooks'
  | 'createWebhook'
  | 'getWebhook'
  | 'updateWebhook'
  | 'deleteWebhook'
  | 'rotateWebhookSecret'
  | 'testWebhook'
  | 'listWebhookDeliveries'
  | 'retryWebhookDelivery'
> {
  const allowedHosts = options.allowedHosts ?? [];
  const checkUrl = (url: string | undefined) => {
    const problem = url === undefined ? undefined : checkWebhookUrl(url, allowedHosts);
    if (problem) throw validationFailed({ url: [problem] });
  };
  const unique = <T>(values: T[]) => [...new Set(values)];

  const listWebhooks: Handler<'listWebhooks'> = async (ctx, input) => {
    const { sql, principal } = ctx;
    const where = [q`workspace_id = ${principal.workspaceId}`];
    const sortTypes = { created_at: 'timestamptz', updated_at: 'timestamptz', id: 'text' } as const;
    const page = await servePage(ctx, { table: 'webhook_endpoints', where, sortTypes }, input, (row: EndpointRow & Record<string, unknown>) => row);
    const keys = await publicKeys(sql, page.data.filter((row) => row.signing_kind === 'ed25519').map((row) => row.id));
    return { ...page, data: page.data.map((row) => toEndpoint(row, keys.get(row.id) ?? null)) };
  };

  const createWebhook: Handler<'createWebhook'> = async ({ sql, principal }, input) => {
    checkUrl(input.url);
    return transaction(sql, async (tx) => {
      const [row] = await tx<EndpointRow[]>`
        insert into webhook_endpoints (id, workspace_id, url, events, description, signing_kind)
        values (${newId('webhook')}, ${principal.workspaceId}, ${input.url}, ${unique(input.events)}::text[], ${input.description ?? null}, ${input.signing})
        returning *`;
      const endpoint = row as EndpointRow;
      const secret = await addSecret(tx, endpoint.id, endpoint.signing_kind, options.sealingKey);
      return { ...(await present(tx, endpoint)), secret };
    });
  };

  const getWebhook: Handler<'getWebhook'> = async ({ sql, principal }, input) =>
    present(sql, await findEndpoint(sql, principal.workspaceId, input.webhook_id));

  const updateWebhook: Handler<'updateWebhook'> = async ({ sql, principal }, input) => {
    checkUrl(input.url);
    return transaction(sql, async (tx) => {
      const current = await findEndpoint(tx, principal.workspaceId, input.webhook_id, true);
      const reenable = input.is_active === true && !current.is_active;
      const [row] = await tx<EndpointRow[]>`
        update webhook_endpoints set
          url = ${input.url ?? current.url},
          events = ${input.events ? unique(input.events) : current.events}::text[],
          description = ${input.description === undefined ? current.description : input.description},
          is_active = ${input.is_active ?? current.is_active},
          -- Switched back on: the reason goes, and the failures that led to it stop counting
          -- towards the next automatic switch-off.
          disabled_reason = ${reenable ? null : current.disabled_reason},
          consecutive_failures = ${reenable ? 0 : current.consecutive_failures},
          updated_at = now()
        where id = ${current.id}
        returning *`;
      return present(tx, row as EndpointRow);
    });
  };

  const deleteWebhook: Handler<'deleteWebhook'> = async ({ sql, principal }, input) => {
    const deleted = await sql`delete from webhook_endpoints where id = ${input.webhook_id} and workspace_id = ${principal.workspaceId}`;
    if (deleted.count === 0) throw notFound('Webhook endpoint');
  };

  const rotateWebhookSecret: Handler<'rotateWebhookSecret'> = async ({ sql, principal }, input) =>
    transaction(sql, async (tx) => {
      const current = await findEndpoint(tx, principal.workspaceId, input.webhook_id, true);
      const graceSeconds = Math.round(input.grace_period_hours * 3600);
      const [ends] = await tx<{ at: Date }[]>`select (now() + make_interval(secs => ${graceSeconds}))::timestamptz(3) as at`;
      const endsAt = (ends as { at: Date }).at;
      // Secrets past their grace period are gone for good; the others sign until the new grace
      // period ends at the latest (a second rotation never extends an earlier one).
      await tx`delete from webhook_secrets where endpoint_id = ${current.id} and expires_at <= now()`;
      await tx`
        update webhook_secrets set expires_at = least(coalesce(expires_at, 'infinity'), ${endsAt})
        where endpoint_id = ${current.id}`;
      const secret = await addSecret(tx, current.id, current.signing_kind, options.sealingKey);
      const [row] = await tx<EndpointRow[]>`update webhook_endpoints set updated_at = now() where id = ${current.id} returning *`;
      return { ...(await present(tx, row as EndpointRow)), secret, previous_secret_expires_at: iso(endsAt) };
    });

  const testWebhook: Handler<'testWebhook'> = async ({ sql, principal }, input) => {
    const endpoint = await findEndpoint(sql, principal.workspaceId, input.webhook_id);
    const secrets = await liveSecrets(sql, endpoint.id, options.sealingKey);
    const event = {
      id: newId('event'),
      type: 'webhook.test',
      workspace_id: principal.workspaceId,
      created_at: new Date(),
      data: { webhook_id: endpoint.id, message: 'A test event from Charter: this endpoint receives signed webhooks.' },
    };
    const body = eventBody(event);
    return postWebhook(endpoint.url, body, { ...webhookHeaders({ id: event.id, body, secrets }) }, {
      allowedHosts,
      timeoutMs: options.timeoutMs,
      maxResponseBytes: options.maxResponseBytes,
    });
  };

  const listWebhookDeliveries: Handler<'listWebhookDeliveries'> = async (ctx, input) => {
    const { sql, principal } = ctx;
    const endpoint = await findEndpoint(sql, principal.workspaceId, input.webhook_id);
    const where = [q`endpoint_id = ${endpoint.id}`];
    if (input.status) where.push(q`status = ${input.status}`);
    if (input.event_type) where.push(q`event_type = ${input.event_type}`);
    const sortTypes = { created_at: 'timestamptz', updated_at: 'timestamptz', id: 'text' } as const;
    return servePage(ctx, { table: 'webhook_deliveries', where, sortTypes }, input, (row: DeliveryRow & Record<string, unknown>) => toDelivery(row));
  };

  const retryWebhookDelivery: Handler<'retryWebhookDelivery'> = async ({ sql, principal }, input) =>
    transaction(sql, async (tx) => {
      const endpoint = await findEndpoint(tx, principal.workspaceId, input.webhook_id);
      const [current] = await tx<DeliveryRow[]>`
        select * from webhook_deliveries where id = ${input.delivery_id} and endpoint_id = ${endpoint.id} for update`;
      if (!current) throw notFound('Delivery');
      if (current.status === 'success' || current.status === 'failed') {
        throw new ApiError(
          'cannot_retry',
          current.status === 'success'
            ? 'The delivery succeeded: there is nothing to retry.'
            : 'The delivery was abandoned after the last attempt of its retry schedule: it cannot be retried.',
        );
      }
      // Due now: the next worker poll claims it (unless an attempt is in flight, whose outcome then decides).
      const [row] = await tx<DeliveryRow[]>`
        update webhook_deliveries set next_attempt_at = now(), updated_at = now()
        where id = ${current.id}
        returning *`;
      return toDelivery(row as DeliveryRow);
    });

  return {
    listWebhooks,
    createWebhook,
    getWebhook,
    updateWebhook,
    deleteWebhook,
    rotateWebhookSecret,
    testWebhook,
    listWebhookDeliveries,
    retryWebhookDelivery,
  };
}
