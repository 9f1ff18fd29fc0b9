import { type OutboxEventType, patternsMatching, type WebhookEventData } from '@charter/contracts';
import type { Queryable } from '@charter/db';
import { iso } from '../handlers/serialize.ts';
import { newId } from '../ids.ts';

/**
 * The transactional outbox: records that `type` happened to `data` (the resource in its API form)
 * in `workspaceId`, with one pending delivery per active endpoint of that workspace subscribed to
 * it. Call it with the transaction that makes the change, after the change: the event then
 * commits or rolls back with it, and the worker (webhooks/worker.ts) sends what committed.
 *
 * When no endpoint wants the event, nothing is written: an event exists only to be delivered.
 * An endpoint created while the change runs may miss it, as it would a moment earlier.
 */
export async function recordEvent<T extends OutboxEventType>(
  sql: Queryable,
  workspaceId: string,
  type: T,
  data: WebhookEventData<T>,
  /** The subscribed endpoints, when the caller read them already (see `subscribedEndpoints`). */
  subscribed?: readonly string[],
): Promise<void> {
  const endpoints = subscribed ?? (await subscribers(sql, workspaceId, type));
  if (endpoints.length === 0) return;
  const eventId = newId('event');
  const deliveryIds = endpoints.map(() => newId('delivery'));
  await sql`
    with event as (
      insert into webhook_events (id, workspace_id, type, data)
      values (${eventId}, ${workspaceId}, ${type}, ${sql.json(data as never)})
      returning id, created_at
    )
    insert into webhook_deliveries (id, event_id, endpoint_id, event_type, created_at, updated_at)
    select target.delivery_id, event.id, target.endpoint_id, ${type}, event.created_at, event.created_at
    from event, unnest(${deliveryIds}::text[], ${endpoints as string[]}::text[]) as target (delivery_id, endpoint_id)`;
}

/**
 * The active endpoints of the workspace subscribed to `type`, as a scalar subquery: their ids as
 * one text[], empty when none. A change that knows its event type before it runs selects it in
 * its first statement (see createRecord), and hands the ids to `recordEvent`.
 */
export function subscribedEndpoints(sql: Queryable, workspaceId: string, type: OutboxEventType) {
  return sql`
    select coalesce(array_agg(id), '{}') from webhook_endpoints
    where workspace_id = ${workspaceId} and is_active and events && ${patternsMatching(type)}::text[]`;
}

async function subscribers(sql: Queryable, workspaceId: string, type: OutboxEventType): Promise<string[]> {
  const [row] = await sql<{ ids: string[] }[]>`select (${subscribedEndpoints(sql, workspaceId, type)}) as ids`;
  return row?.ids ?? [];
}

/** An event as the worker reads it from webhook_events. */
export interface StoredEvent {
  id: string;
  type: string;
  workspace_id: string;
  data: unknown;
  created_at: Date;
}

/**
 * The body every delivery of an event sends, the same on each attempt: `{id, type, created_at,
 * workspace_id, data}`, as the document's `webhooks` section describes each type.
 */
export function eventBody(event: StoredEvent): string {
  return JSON.stringify({ id: event.id, type: event.type, created_at: iso(event.created_at), workspace_id: event.workspace_id, data: event.data });
}
