import { z } from 'zod';
import { ApiKey } from './api-keys.ts';
import { defineEndpoint } from './endpoint.ts';
import { idSchema } from './ids.ts';
import { Module } from './modules.ts';
import { listEnvelope, listQuery, updatedFilters } from './pagination.ts';
import { ModuleRecord } from './records.ts';
import { NO_NUL, NO_NUL_MESSAGE } from './text.ts';

const timestamp = z.iso.datetime().meta({ example: '2026-11-22T08:15:30.123Z' });
const count = z.int().min(0).max(Number.MAX_SAFE_INTEGER).meta({ format: 'int64' });

export const WebhookId = idSchema('webhook').meta({ description: 'The webhook endpoint ID.' });
export const DeliveryId = idSchema('delivery').meta({ description: 'The delivery ID.' });
export const EventId = idSchema('event').meta({ description: 'The event ID: the same on every attempt of every delivery of the event (the `webhook-id` header).' });

/** What a `webhook.test` event carries. */
export const WebhookTestData = z
  .object({
    webhook_id: WebhookId,
    message: z.string(),
  })
  .meta({
    id: 'WebhookTestData',
    description: 'The data of a `webhook.test` event.',
    example: { webhook_id: 'whk_01jd8x3k5q9v2m7n4p6r8t0w1y', message: 'A test event from Charter: this endpoint receives signed webhooks.' },
  });

/**
 * Every event type and the resource its `data` carries, in the API's own form: the same Zod
 * schema the endpoints answer with, so that an event's payload and a GET of its resource agree.
 * Deleted resources are sent as they were just before the deletion; a revoked key without secret.
 */
export const WEBHOOK_EVENT_DATA = {
  'module.created': Module,
  'module.updated': Module,
  'module.deleted': Module,
  'record.created': ModuleRecord,
  'record.updated': ModuleRecord,
  'record.deleted': ModuleRecord,
  'api_key.created': ApiKey,
  'api_key.rotated': ApiKey,
  'api_key.revoked': ApiKey,
  'webhook.test': WebhookTestData,
} as const;

export type WebhookEventType = keyof typeof WEBHOOK_EVENT_DATA;
export const WEBHOOK_EVENT_TYPES = Object.keys(WEBHOOK_EVENT_DATA) as WebhookEventType[];
/** The types changes write to the outbox: all but `webhook.test`, which only the test call sends. */
export type OutboxEventType = Exclude<WebhookEventType, 'webhook.test'>;
export const OUTBOX_EVENT_TYPES = WEBHOOK_EVENT_TYPES.filter((type): type is OutboxEventType => type !== 'webhook.test');
/** The `data` of an event of type `T`, as the API shows the resource. */
export type WebhookEventData<T extends WebhookEventType> = z.output<(typeof WEBHOOK_EVENT_DATA)[T]>;

/** What an endpoint may subscribe to: one type, every type of a resource (`record.*`), or `*`. */
export const WEBHOOK_EVENT_PATTERNS: [string, ...string[]] = [
  '*',
  ...new Set(OUTBOX_EVENT_TYPES.map((type) => `${type.split('.')[0]}.*`)),
  ...OUTBOX_EVENT_TYPES,
];

/** The patterns that select events of `type`: itself, its resource's `*`, and `*`. */
export function patternsMatching(type: WebhookEventType): string[] {
  return [type, `${type.split('.')[0]}.*`, '*'];
}

export const WebhookEventPattern = z.enum(WEBHOOK_EVENT_PATTERNS).meta({
  id: 'WebhookEventPattern',
  description: 'An event type (`record.created`), every type of one resource (`record.*`), or every type (`*`).',
  example: 'record.*',
});

export const WebhookEventTypeSchema = z
  .enum(WEBHOOK_EVENT_TYPES as [WebhookEventType, ...WebhookEventType[]])
  .meta({ id: 'WebhookEventType', description: 'The type of an event.', example: 'record.created' });

const pascal = (type: string) =>
  type
    .split(/[._]/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');

/** The schema of one event type: the envelope every event shares, with its own `type` and `data`. */
function eventSchema<T extends WebhookEventType>(type: T) {
  const [resource, action] = type.split('.');
  return z
    .object({
      id: EventId,
      type: z.literal(type),
      created_at: timestamp.meta({ description: 'When the change happened (the transaction that made it).' }),
      workspace_id: idSchema('workspace').meta({ description: 'The workspace the event belongs to: only its own endpoints receive it.' }),
      data: WEBHOOK_EVENT_DATA[type] as (typeof WEBHOOK_EVENT_DATA)[T],
    })
    .meta({
      id: `${pascal(type)}Event`,
      description:
        type === 'webhook.test'
          ? 'Sent by `POST /webhooks/{webhook_id}/test`, to the one endpoint, whatever it subscribes to.'
          : `A ${resource?.replace('_', ' ')} was ${action}. \`data\` is the ${resource?.replace('_', ' ')} as the API shows it${action === 'deleted' || action === 'revoked' ? `, as it was when it was ${action}` : ''}.`,
    });
}

/** One schema per event type, by type. */
export const WEBHOOK_EVENT_SCHEMAS = Object.fromEntries(WEBHOOK_EVENT_TYPES.map((type) => [type, eventSchema(type)])) as {
  [T in WebhookEventType]: ReturnType<typeof eventSchema<T>>;
};

/** An event as a receiver gets it: the JSON body of a delivery. */
export type WebhookEvent = { [T in WebhookEventType]: z.output<(typeof WEBHOOK_EVENT_SCHEMAS)[T]> }[WebhookEventType];

export const WebhookSigning = z.enum(['hmac', 'ed25519']).meta({
  id: 'WebhookSigning',
  description:
    '`hmac`: Standard Webhooks `v1,` signatures (HMAC-SHA256) under a `whsec_` secret the receiver holds. `ed25519`: `v1a,` signatures the receiver verifies with the endpoint\'s `public_key` (`whpk_…`); it then holds nothing that could sign.',
  example: 'hmac',
});

export const WebhookEndpoint = z
  .object({
    id: WebhookId,
    url: z.string(),
    events: z.array(WebhookEventPattern),
    description: z.string().nullable(),
    is_active: z.boolean().meta({ description: 'Whether events are delivered to it. Switched off after too many consecutive failed attempts (see `disabled_reason`).' }),
    disabled_reason: z.string().nullable().meta({ description: 'Why it was switched off automatically; null while active.' }),
    signing: WebhookSigning,
    public_key: z.string().nullable().meta({ description: 'For `ed25519` signing, the `whpk_…` key that verifies its signatures; null for `hmac`.' }),
    success_count: count.meta({ description: 'Attempts answered with a 2xx.' }),
    failure_count: count.meta({ description: 'Attempts that failed (no answer in time, or not a 2xx).' }),
    consecutive_failures: z.int().min(0).max(1_000_000_000).meta({ description: 'Failed attempts since the last success.' }),
    last_delivery_at: timestamp.nullable().meta({ description: 'When the last attempt was made.' }),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({
    id: 'WebhookEndpoint',
    description: 'A URL that receives the workspace\'s events. Its signing secret is only ever shown when it is created or rotated.',
    example: {
      id: 'whk_01jd8x3k5q9v2m7n4p6r8t0w1y',
      url: 'https://example.com/webhooks/charter',
      events: ['record.*'],
      description: 'CRM sync',
      is_active: true,
      disabled_reason: null,
      signing: 'hmac',
      public_key: null,
      success_count: 42,
      failure_count: 1,
      consecutive_failures: 0,
      last_delivery_at: '2026-11-22T08:15:30.123Z',
      created_at: '2026-11-22T08:15:30.123Z',
      updated_at: '2026-11-22T08:15:30.123Z',
    },
  });
export type WebhookEndpoint = z.output<typeof WebhookEndpoint>;

const secretField = z.string().nullable().meta({
  description:
    'The `whsec_…` signing secret of an `hmac` endpoint: shown here once and never again, store it now. Null for `ed25519` endpoints, whose receivers verify with `public_key`.',
  example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw6hHXiJAN+nI=',
});

export const WebhookEndpointWithSecret = WebhookEndpoint.extend({ secret: secretField }).meta({
  id: 'WebhookEndpointWithSecret',
  description: 'A new webhook endpoint, with its signing secret.',
});

export const RotatedWebhookEndpoint = WebhookEndpoint.extend({
  secret: secretField,
  previous_secret_expires_at: timestamp.meta({
    description: 'Until then the previous secret (or key) signs every delivery too, beside the new one, so that receivers can switch at their own pace.',
  }),
}).meta({ id: 'RotatedWebhookEndpoint', description: 'An endpoint with its new signing secret, and when the previous one stops signing.' });

export const DeliveryStatus = z.enum(['pending', 'success', 'failed', 'retrying']).meta({
  id: 'DeliveryStatus',
  description: '`pending`: not tried yet. `retrying`: failed, tried again at `next_retry_at`. `success`: answered with a 2xx. `failed`: abandoned after the last attempt of the retry schedule.',
  example: 'success',
});

export const WebhookDelivery = z
  .object({
    id: DeliveryId,
    event_id: EventId,
    event_type: WebhookEventTypeSchema,
    status: DeliveryStatus,
    attempt: z.int().min(0).max(1_000).meta({ description: 'Attempts made so far.' }),
    response_code: z.int().min(100).max(599).nullable().meta({ description: 'The HTTP status of the last attempt; null when none answered.' }),
    next_retry_at: timestamp.nullable().meta({ description: 'When the next attempt is due, while `pending` or `retrying`.' }),
    delivered_at: timestamp.nullable().meta({ description: 'When the 2xx arrived.' }),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({
    id: 'WebhookDelivery',
    description: 'One event on its way to one endpoint.',
    example: {
      id: 'dlv_01jd8x3k5q9v2m7n4p6r8t0w1y',
      event_id: 'evt_01jd8x3k5q9v2m7n4p6r8t0w1y',
      event_type: 'record.created',
      status: 'success',
      attempt: 1,
      response_code: 200,
      next_retry_at: null,
      delivered_at: '2026-11-22T08:15:31.456Z',
      created_at: '2026-11-22T08:15:30.123Z',
      updated_at: '2026-11-22T08:15:31.456Z',
    },
  });
export type WebhookDelivery = z.output<typeof WebhookDelivery>;

export const WebhookTestResult = z
  .object({
    success: z.boolean().meta({ description: 'Whether the endpoint answered with a 2xx in time.' }),
    status_code: z.int().min(100).max(599).optional().meta({ description: 'The status it answered with.' }),
    response_time_ms: z.number().min(0).max(3_600_000).meta({ description: 'How long the attempt took.' }),
    response_body: z.string().optional().meta({ description: 'The start of its answer, cut at a few kilobytes.' }),
    error: z.string().optional().meta({ description: 'Why no answer came (refused address, timeout, connection error).' }),
  })
  .meta({
    id: 'WebhookTestResult',
    description: '`{success, status_code, response_time_ms, response_body}` when the endpoint answered, `{success: false, error, response_time_ms}` when it did not.',
    example: { success: true, status_code: 200, response_time_ms: 84.2, response_body: 'ok' },
  });

// An absolute http(s) URL; the server then refuses what it must never call (non-HTTPS outside the
// allowed hosts, private and metadata addresses), field by field in a 422.
const webhookUrl = z
  .url({ protocol: /^https?$/, error: 'Must be an absolute https:// URL.' })
  .max(2048)
  // The URL parser takes a NUL in the path (and would send it as %00); PostgreSQL cannot store it.
  .regex(NO_NUL, NO_NUL_MESSAGE)
  .meta({ description: 'Where events are POSTed: an `https://` URL on a public address.', example: 'https://example.com/webhooks/charter' });
const webhookEvents = z
  .array(WebhookEventPattern)
  .min(1)
  .max(50)
  .meta({ description: 'The events it receives: types, `<resource>.*` patterns, or `*`.', example: ['record.*'] });
const webhookDescription = z.string().max(500).regex(NO_NUL, NO_NUL_MESSAGE).meta({ example: 'CRM sync' });
const gracePeriodHours = z
  .number()
  .min(0)
  .max(168)
  .default(24)
  .meta({ description: 'How long the previous secret keeps signing beside the new one, 0–168 hours (fractions allowed; 0 ends it now).' });

export const WEBHOOK_SORTABLE = ['created_at', 'updated_at', 'id'] as const;
export const WEBHOOK_FIELDS = [
  'id', 'url', 'events', 'description', 'is_active', 'disabled_reason', 'signing', 'public_key', 'success_count',
  'failure_count', 'consecutive_failures', 'last_delivery_at', 'created_at', 'updated_at',
] as const;
export const DELIVERY_SORTABLE = ['created_at', 'updated_at', 'id'] as const;
export const DELIVERY_FIELDS = [
  'id', 'event_id', 'event_type', 'status', 'attempt', 'response_code', 'next_retry_at', 'delivered_at', 'created_at', 'updated_at',
] as const;

export const listWebhooks = defineEndpoint({
  operationId: 'listWebhooks',
  method: 'GET',
  path: '/webhooks',
  tags: ['Webhooks'],
  summary: 'List webhook endpoints',
  description: 'Lists the workspace\'s webhook endpoints, newest first by default. Secrets are never shown.',
  scopes: ['webhooks:read'],
  successStatus: 200,
  idempotent: false,
  input: listQuery({ sortable: WEBHOOK_SORTABLE, fields: WEBHOOK_FIELDS, defaultSort: '-created_at' }).extend(updatedFilters),
  output: listEnvelope(WebhookEndpoint, 'WebhookEndpointList'),
  errors: [422],
  list: { sortable: WEBHOOK_SORTABLE, fields: WEBHOOK_FIELDS },
});

export const createWebhook = defineEndpoint({
  operationId: 'createWebhook',
  method: 'POST',
  path: '/webhooks',
  tags: ['Webhooks'],
  summary: 'Create a webhook endpoint',
  description:
    'Registers a URL for the workspace\'s events. Each event is POSTed as JSON, signed as Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`). The `whsec_` secret is made by the server and is in this response only; with `signing: "ed25519"` there is no secret to hand out, and receivers verify with `public_key`. The URL must be `https://` on a public address: loopback, private, link-local and metadata addresses are refused (422) unless the server\'s settings allow the host.',
  scopes: ['webhooks:write'],
  successStatus: 201,
  idempotent: true,
  returnsSecret: true,
  input: z
    .object({
      url: webhookUrl,
      events: webhookEvents,
      description: webhookDescription.optional(),
      signing: WebhookSigning.default('hmac'),
    })
    .meta({ example: { url: 'https://example.com/webhooks/charter', events: ['record.*'], description: 'CRM sync' } }),
  output: WebhookEndpointWithSecret,
  errors: [400, 413, 415, 422],
});

export const getWebhook = defineEndpoint({
  operationId: 'getWebhook',
  method: 'GET',
  path: '/webhooks/{webhook_id}',
  tags: ['Webhooks'],
  summary: 'Get a webhook endpoint',
  description: 'Returns one webhook endpoint of the workspace, with its delivery counters, without its secret.',
  scopes: ['webhooks:read'],
  successStatus: 200,
  idempotent: false,
  input: z.object({ webhook_id: WebhookId }),
  output: WebhookEndpoint,
  errors: [404, 422],
});

export const updateWebhook = defineEndpoint({
  operationId: 'updateWebhook',
  method: 'PATCH',
  path: '/webhooks/{webhook_id}',
  tags: ['Webhooks'],
  summary: 'Update a webhook endpoint',
  description:
    'Changes the URL, the events or the description, or switches the endpoint off or on. `is_active: true` switches an endpoint that was switched off automatically back on and clears `disabled_reason`; deliveries that waited meanwhile then go out.',
  scopes: ['webhooks:write'],
  successStatus: 200,
  idempotent: true,
  input: z
    .object({
      webhook_id: WebhookId,
      url: webhookUrl.optional(),
      events: webhookEvents.optional(),
      description: webhookDescription.nullable().optional(),
      is_active: z.boolean().optional(),
    })
    .meta({ example: { is_active: true } }),
  output: WebhookEndpoint,
  errors: [400, 404, 413, 415, 422],
});

export const deleteWebhook = defineEndpoint({
  operationId: 'deleteWebhook',
  method: 'DELETE',
  path: '/webhooks/{webhook_id}',
  tags: ['Webhooks'],
  summary: 'Delete a webhook endpoint',
  description: 'Deletes the endpoint with its secrets and its deliveries: nothing more is sent to it.',
  scopes: ['webhooks:delete'],
  successStatus: 204,
  idempotent: true,
  input: z.object({ webhook_id: WebhookId }),
  output: z.void(),
  errors: [400, 404, 422],
});

export const rotateWebhookSecret = defineEndpoint({
  operationId: 'rotateWebhookSecret',
  method: 'POST',
  path: '/webhooks/{webhook_id}/rotate-secret',
  tags: ['Webhooks'],
  summary: 'Rotate a webhook signing secret',
  description:
    'Makes a new signing secret (or Ed25519 key pair) for the endpoint. Until `previous_secret_expires_at` every delivery carries two signatures in `webhook-signature`, one per secret, so a receiver still holding the previous secret keeps accepting them; afterwards only the new one signs. The new secret is in this response only.',
  scopes: ['webhooks:write'],
  successStatus: 200,
  idempotent: true,
  returnsSecret: true,
  input: z.object({ webhook_id: WebhookId, grace_period_hours: gracePeriodHours }).meta({ example: { grace_period_hours: 24 } }),
  output: RotatedWebhookEndpoint,
  errors: [400, 404, 413, 415, 422],
});

export const testWebhook = defineEndpoint({
  operationId: 'testWebhook',
  method: 'POST',
  path: '/webhooks/{webhook_id}/test',
  tags: ['Webhooks'],
  summary: 'Send a test event',
  description:
    'Sends a signed `webhook.test` event to the endpoint now, whether or not it is active, and answers with what happened. Nothing is queued or retried, and the endpoint\'s counters do not change.',
  scopes: ['webhooks:write'],
  successStatus: 200,
  // Each call is one more test send, answered as it happens: nothing to store or replay.
  idempotent: false,
  input: z.object({ webhook_id: WebhookId }),
  output: WebhookTestResult,
  errors: [404, 413, 415, 422],
});

export const listWebhookDeliveries = defineEndpoint({
  operationId: 'listWebhookDeliveries',
  method: 'GET',
  path: '/webhooks/{webhook_id}/deliveries',
  tags: ['Webhooks'],
  summary: 'List deliveries',
  description:
    'Lists the endpoint\'s deliveries, newest first by default, optionally only those of one status or one event type. A delivery that succeeded or was abandoned (`success`, `failed`) is kept for 30 days after it finished (the server\'s `WEBHOOK_RETENTION_DAYS`), then deleted with its attempts; `pending` and `retrying` ones stay until they finish.',
  scopes: ['webhooks:read'],
  successStatus: 200,
  idempotent: false,
  input: listQuery({ sortable: DELIVERY_SORTABLE, fields: DELIVERY_FIELDS, defaultSort: '-created_at' }).extend({
    ...updatedFilters,
    webhook_id: WebhookId,
    status: DeliveryStatus.optional(),
    event_type: WebhookEventTypeSchema.optional(),
  }),
  output: listEnvelope(WebhookDelivery, 'WebhookDeliveryList'),
  errors: [404, 422],
  list: { sortable: DELIVERY_SORTABLE, fields: DELIVERY_FIELDS },
});

export const retryWebhookDelivery = defineEndpoint({
  operationId: 'retryWebhookDelivery',
  method: 'POST',
  path: '/webhooks/{webhook_id}/deliveries/{delivery_id}/retry',
  tags: ['Webhooks'],
  summary: 'Retry a delivery now',
  description:
    'Makes a `pending` or `retrying` delivery due now instead of at `next_retry_at`: the next attempt goes out at once (once the endpoint is active). A delivery that succeeded or was abandoned (`success`, `failed`) cannot be retried: 400 `cannot_retry`.',
  scopes: ['webhooks:write'],
  successStatus: 200,
  idempotent: true,
  input: z.object({ webhook_id: WebhookId, delivery_id: DeliveryId }),
  output: WebhookDelivery,
  errors: [400, 404, 413, 415, 422],
});
