import { isDeepStrictEqual } from 'node:util';
import { WEBHOOK_EVENT_DATA, WEBHOOK_EVENT_SCHEMAS, WEBHOOK_EVENT_TYPES, type WebhookEventType } from '@charter/contracts';
import { createSchema } from 'zod-openapi';

// A loose view of the JSON document, as in document.ts.
type Json = Record<string, any>;

const SCHEMAS = '#/components/schemas/';

/** The Standard Webhooks headers every delivery carries, as the receiver sees them. */
const SIGNATURE_HEADERS: Json[] = [
  {
    in: 'header',
    name: 'webhook-id',
    required: true,
    description: 'The event ID (`evt_…`): the same on every attempt, so a receiver can drop a repeat.',
    schema: { type: 'string', example: 'evt_01jd8x3k5q9v2m7n4p6r8t0w1y' },
  },
  {
    in: 'header',
    name: 'webhook-timestamp',
    required: true,
    description: 'When this attempt was signed, in Unix seconds. Refuse timestamps far from your clock (the client\'s `verifyWebhook` allows 5 minutes).',
    schema: { type: 'string', pattern: '^[0-9]+$', example: '1795853730' },
  },
  {
    in: 'header',
    name: 'webhook-signature',
    required: true,
    description:
      'Space-separated signatures of `<webhook-id>.<webhook-timestamp>.<body>`: `v1,<base64 HMAC-SHA256>` under the endpoint\'s `whsec_` secret, or `v1a,<base64 Ed25519>` verifiable with its `public_key`. During a rotation\'s grace period there is one per secret: accept the delivery when any one verifies.',
    schema: { type: 'string', example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=' },
  },
];

const EXAMPLE_ENVELOPE = {
  id: 'evt_01jd8x3k5q9v2m7n4p6r8t0w1y',
  created_at: '2026-11-22T08:15:30.123Z',
  workspace_id: 'ws_01jd8x3k5q9v2m7n4p6r8t0w1y',
};

/**
 * The document's top-level `webhooks`: one entry per event type, its body the event's schema made
 * from the same Zod schemas as the endpoints' answers. The resources' component schemas are shared
 * with the paths (an event's `data` refers to `Module`, `Record`, `ApiKey`), so a generator makes
 * one type for a module whether it comes from a GET or from an event. Runs before the document's
 * response schemas are opened, so that the shared components compare equal.
 */
export function addWebhooks(document: Json): void {
  const schemas = document.components.schemas as Json;
  const webhooks: Json = {};
  for (const type of WEBHOOK_EVENT_TYPES) {
    const { schema, components } = createSchema(WEBHOOK_EVENT_SCHEMAS[type], { io: 'output' });
    const renames = mergeComponents(schemas, components as Json);
    const body = renameRefs(schema, renames);
    webhooks[type] = {
      post: {
        operationId: `${camel(type)}Webhook`,
        summary: type,
        description: `${(WEBHOOK_EVENT_SCHEMAS[type].meta() as Json).description} Sent as a signed POST to each active endpoint subscribed to \`${type}\`, \`${type.split('.')[0]}.*\` or \`*\`${type === 'webhook.test' ? ' (this one only by the test call)' : ''}.`,
        tags: ['Webhooks'],
        security: [],
        parameters: SIGNATURE_HEADERS,
        requestBody: {
          required: true,
          content: { 'application/json': { schema: body, example: { ...EXAMPLE_ENVELOPE, type, data: exampleData(type) } } },
        },
        responses: {
          '200': {
            description:
              'Received. Any 2xx answered within the timeout counts as delivered; anything else, or no answer in time, is retried with exponential backoff for about a day. A 429 or 503 with `Retry-After` (seconds or an HTTP date) puts the next attempt off until then, up to the schedule\'s longest wait (10 hours by default), never sooner than the schedule would. Redirects are not followed.',
          },
        },
      },
    };
  }
  document.webhooks = webhooks;
  // Beside the other resources, before System.
  document.tags.splice(document.tags.length - 1, 0, {
    name: 'Webhooks',
    description:
      'Endpoints that receive the workspace\'s events, signed as Standard Webhooks, and their deliveries. The events themselves are described in this document\'s `webhooks`.',
  });
}

/**
 * Adds `incoming` components to `schemas`, reusing an existing one wherever it is the same schema:
 * under its own name, or under another (Zod names a schema by its input form, `ModuleFieldInput`,
 * where the document names its output form `ModuleField`). Returns the names that changed.
 * @throws Error when a name is taken by a different schema: the document would be ambiguous.
 */
function mergeComponents(schemas: Json, incoming: Json): Map<string, string> {
  const renames = new Map<string, string>();
  const pending = new Map(Object.entries(incoming));
  // A component compares equal only once those it refers to are renamed: repeat until nothing moves.
  for (let progress = true; progress; ) {
    progress = false;
    for (const [name, schema] of pending) {
      if (schemas[name] === undefined) continue;
      const renamed = renameRefs(schema, renames);
      const same = isDeepStrictEqual(schemas[name], renamed) ? name : Object.keys(schemas).find((other) => isDeepStrictEqual(schemas[other], renamed));
      if (same === undefined) continue;
      if (same !== name) renames.set(name, same);
      pending.delete(name);
      progress = true;
    }
  }
  for (const [name, schema] of pending) {
    if (schemas[name] !== undefined) throw new Error(`Webhook schema component ${name} differs from the document's ${name}.`);
    schemas[name] = renameRefs(schema, renames);
  }
  return renames;
}

function renameRefs<T>(node: T, renames: Map<string, string>): T {
  if (renames.size === 0) return node;
  return JSON.parse(JSON.stringify(node), (key, value) =>
    key === '$ref' && typeof value === 'string' && renames.has(value.slice(SCHEMAS.length)) ? SCHEMAS + renames.get(value.slice(SCHEMAS.length)) : value,
  );
}

function exampleData(type: WebhookEventType): unknown {
  return (WEBHOOK_EVENT_DATA[type].meta() as Json | undefined)?.example;
}

const camel = (type: string) => type.replace(/[._]([a-z])/g, (_, letter: string) => letter.toUpperCase());

/** The 3.0 form: OpenAPI 3.0 has no `webhooks`, so they travel as the extension `x-webhooks`. */
export function webhooksAsExtension(document: Json, downgradePathItem: (pathItem: Json) => void): void {
  if (!document.webhooks) return;
  const webhooks = document.webhooks as Json;
  delete document.webhooks;
  for (const pathItem of Object.values(webhooks)) downgradePathItem(pathItem);
  document['x-webhooks'] = webhooks;
}
