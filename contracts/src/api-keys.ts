import { z } from 'zod';
import { defineEndpoint } from './endpoint.ts';
import { idSchema } from './ids.ts';
import { listEnvelope, listQuery, updatedFilters } from './pagination.ts';
import { TierSchema } from './rate-limits.ts';
import { Scope } from './scopes.ts';
import { NAME_TEXT, NAME_TEXT_MESSAGE } from './text.ts';

const timestamp = z.iso.datetime().meta({ example: '2026-11-22T08:15:30.123Z' });

export const KeyMode = z.enum(['live', 'test']).meta({ id: 'KeyMode', description: '`live` keys start `sk_live_`, `test` keys `sk_test_`.' });

export const ApiKeyId = idSchema('apiKey').meta({ description: 'The API key\'s ID (not the secret).' });

const limit = (description: string, max: number) => z.int().min(1).max(max).meta({ description });

export const ApiKey = z
  .object({
    id: ApiKeyId,
    name: z.string(),
    prefix: z.string().meta({ description: 'The first characters of the secret, for recognising it.', example: 'sk_live_Ab12' }),
    last4: z.string().meta({ description: 'The last four characters of the secret.', example: 'x9Qz' }),
    mode: KeyMode,
    scopes: z.array(z.string()),
    tier: TierSchema,
    rate_limit_per_minute: z.int().min(1).max(10_000_000).meta({ description: 'Requests per minute: the key\'s own limit, or its tier\'s.' }),
    burst: z.int().min(0).max(10_000_000).meta({ description: 'Extra requests allowed on top of the per-minute limit.' }),
    daily_quota: z.int().min(1).max(1_000_000_000).nullable().meta({ description: 'Requests per UTC day, or null for none.' }),
    expires_at: timestamp.nullable(),
    last_used_at: timestamp.nullable().meta({ description: 'When the key was last used, to the minute.' }),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({
    id: 'ApiKey',
    description: 'An API key. The secret itself is only ever shown once, when the key is created or rotated.',
    example: {
      id: 'key_01jd8x3k5q9v2m7n4p6r8t0w1y',
      name: 'Production backend',
      prefix: 'sk_live_Ab12',
      last4: 'x9Qz',
      mode: 'live',
      scopes: ['records:read', 'records:write'],
      tier: 'starter',
      rate_limit_per_minute: 1000,
      burst: 200,
      daily_quota: null,
      expires_at: null,
      last_used_at: '2026-11-22T08:15:00.000Z',
      created_at: '2026-11-22T08:15:30.123Z',
      updated_at: '2026-11-22T08:15:30.123Z',
    },
  });
export type ApiKey = z.output<typeof ApiKey>;

export const ApiKeyWithSecret = ApiKey.extend({
  key: z.string().meta({
    description: 'The secret. Shown here once and never again: store it now.',
    example: 'sk_live_Ab12cD34eF56gH78iJ90kL12mN34oP56qR78sT',
  }),
}).meta({ id: 'ApiKeyWithSecret', description: 'A newly issued key, with its secret.' });

export const RotatedApiKey = ApiKeyWithSecret.extend({
  grace_period_ends_at: timestamp.meta({ description: 'Until then the previous secret keeps working; after it, it gets 401.' }),
}).meta({ id: 'RotatedApiKey', description: 'A key with its new secret, and when the previous secret stops working.' });

const limitFields = {
  tier: TierSchema,
  rate_limit_per_minute: limit('Requests per minute; overrides the tier\'s.', 10_000_000),
  burst: z.int().min(0).max(10_000_000).meta({ description: 'Extra requests on top of the per-minute limit; overrides the tier\'s.' }),
  daily_quota: limit('Requests per UTC day.', 1_000_000_000),
  expires_at: z.iso.datetime({ offset: true }).meta({ description: 'When the key stops working (ISO 8601, in the future).' }),
};

export const API_KEY_SORTABLE = ['created_at', 'updated_at', 'name', 'id'] as const;
export const API_KEY_FIELDS = [
  'id', 'name', 'prefix', 'last4', 'mode', 'scopes', 'tier', 'rate_limit_per_minute', 'burst', 'daily_quota',
  'expires_at', 'last_used_at', 'created_at', 'updated_at',
] as const;

export const listApiKeys = defineEndpoint({
  operationId: 'listApiKeys',
  method: 'GET',
  path: '/api-keys',
  tags: ['API keys'],
  summary: 'List API keys',
  description: 'Lists the workspace\'s active keys (revoked keys are gone). Secrets are never shown.',
  scopes: ['api-keys:read'],
  successStatus: 200,
  idempotent: false,
  input: listQuery({ sortable: API_KEY_SORTABLE, fields: API_KEY_FIELDS, defaultSort: '-created_at' }).extend(updatedFilters),
  output: listEnvelope(ApiKey, 'ApiKeyList'),
  errors: [422],
  list: { sortable: API_KEY_SORTABLE, fields: API_KEY_FIELDS },
});

export const createApiKey = defineEndpoint({
  operationId: 'createApiKey',
  method: 'POST',
  path: '/api-keys',
  tags: ['API keys'],
  summary: 'Create an API key',
  description:
    'Issues a key in the workspace. Its secret is in this response and nowhere else, ever. A key can only issue keys whose scopes, limits and lifetime are within its own, and a test key only test keys (403 otherwise).',
  scopes: ['api-keys:write'],
  successStatus: 201,
  idempotent: true,
  returnsSecret: true,
  input: z
    .object({
      name: z.string().trim().min(1).max(100).regex(NAME_TEXT, NAME_TEXT_MESSAGE).meta({ example: 'Production backend' }),
      scopes: z.array(Scope).min(1).max(50).meta({ description: 'What the key may do.', example: ['records:read', 'records:write'] }),
      mode: KeyMode.default('live'),
      tier: limitFields.tier.default('free'),
      rate_limit_per_minute: limitFields.rate_limit_per_minute.optional(),
      burst: limitFields.burst.optional(),
      daily_quota: limitFields.daily_quota.optional(),
      expires_at: limitFields.expires_at.optional(),
    })
    .meta({ example: { name: 'Production backend', scopes: ['records:read', 'records:write'], tier: 'starter' } }),
  output: ApiKeyWithSecret,
  errors: [400, 413, 415, 422],
});

export const getApiKey = defineEndpoint({
  operationId: 'getApiKey',
  method: 'GET',
  path: '/api-keys/{key_id}',
  tags: ['API keys'],
  summary: 'Get an API key',
  description: 'Returns one key of the workspace, without its secret.',
  scopes: ['api-keys:read'],
  successStatus: 200,
  idempotent: false,
  input: z.object({ key_id: ApiKeyId }),
  output: ApiKey,
  errors: [404, 422],
});

export const Workspace = z
  .object({
    id: idSchema('workspace').meta({ description: 'The workspace\'s ID.' }),
    name: z.string(),
  })
  .meta({ id: 'Workspace', description: 'A workspace: the tenant every key, module and record belongs to.', example: { id: 'ws_01jd8x3k5q9v2m7n4p6r8t0w1y', name: 'Acme' } });

export const CurrentApiKey = z
  .object({
    key: ApiKey,
    workspace: Workspace,
    secret_in_grace: z.boolean().meta({
      description: 'True when the presented secret is a previous one in its rotation\'s grace period: it may call the API but not manage keys, and stops working when the grace period ends.',
    }),
  })
  .meta({ id: 'CurrentApiKey', description: 'The calling key, its workspace, and whether the secret used is a previous one still in its grace period.' });

export const getCurrentApiKey = defineEndpoint({
  operationId: 'getCurrentApiKey',
  method: 'GET',
  path: '/api-keys/current',
  tags: ['API keys'],
  summary: 'Get the calling API key',
  description:
    'Returns the key that authenticates this request, without its secret, and its workspace: what a key may do (its scopes) and where. Any valid key may call it, whatever its scopes, a previous secret in its grace period too; it shows nothing beyond the caller\'s own key and workspace.',
  scopes: [],
  access: 'any-key',
  successStatus: 200,
  idempotent: false,
  input: z.object({}),
  output: CurrentApiKey,
  errors: [422],
});

export const updateApiKey = defineEndpoint({
  operationId: 'updateApiKey',
  method: 'PATCH',
  path: '/api-keys/{key_id}',
  tags: ['API keys'],
  summary: 'Update an API key',
  description:
    'Renames a key or changes its limits or expiry. `null` returns a limit to the tier\'s, or removes the expiry or quota. A key can only update keys within its own scopes, limits and lifetime, and only to values within them (403 otherwise).',
  scopes: ['api-keys:write'],
  successStatus: 200,
  idempotent: true,
  input: z
    .object({
      key_id: ApiKeyId,
      name: z.string().trim().min(1).max(100).regex(NAME_TEXT, NAME_TEXT_MESSAGE).optional(),
      tier: limitFields.tier.optional(),
      rate_limit_per_minute: limitFields.rate_limit_per_minute.nullable().optional(),
      burst: limitFields.burst.nullable().optional(),
      daily_quota: limitFields.daily_quota.nullable().optional(),
      expires_at: limitFields.expires_at.nullable().optional(),
    })
    .meta({ example: { name: 'Renamed', rate_limit_per_minute: 500 } }),
  output: ApiKey,
  errors: [400, 404, 413, 415, 422],
});

export const revokeApiKey = defineEndpoint({
  operationId: 'revokeApiKey',
  method: 'DELETE',
  path: '/api-keys/{key_id}',
  tags: ['API keys'],
  summary: 'Revoke an API key',
  description:
    'Revokes a key at once: its very next request, on any server, gets 401. A key can only revoke keys within its own scopes, limits and lifetime (403 otherwise).',
  scopes: ['api-keys:delete'],
  successStatus: 204,
  idempotent: true,
  input: z.object({ key_id: ApiKeyId }),
  output: z.void(),
  errors: [400, 404, 422],
});

export const rotateApiKey = defineEndpoint({
  operationId: 'rotateApiKey',
  method: 'POST',
  path: '/api-keys/{key_id}/rotate',
  tags: ['API keys'],
  summary: 'Rotate an API key',
  description:
    'Issues a new secret for the key (same ID, scopes and limits). The previous secret keeps working for `grace_period_hours`, then gets 401. The new secret is in this response only. A key can only rotate keys within its own scopes, limits and lifetime (403 otherwise), and a previous secret in its grace period cannot manage keys at all.',
  scopes: ['api-keys:write'],
  successStatus: 200,
  idempotent: true,
  returnsSecret: true,
  input: z
    .object({
      key_id: ApiKeyId,
      grace_period_hours: z
        .number()
        .min(0)
        .max(168)
        .default(24)
        .meta({ description: 'How long the previous secret keeps working, 0–168 hours (fractions allowed; 0 ends it now).' }),
    })
    .meta({ example: { grace_period_hours: 24 } }),
  output: RotatedApiKey,
  errors: [400, 404, 413, 415, 422],
});
