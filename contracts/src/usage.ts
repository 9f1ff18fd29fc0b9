import { z } from 'zod';
import { ApiKeyId } from './api-keys.ts';
import { defineEndpoint } from './endpoint.ts';
import { listEnvelope, listQuery } from './pagination.ts';

const timestamp = z.iso.datetime().meta({ example: '2026-11-22T08:15:00.000Z' });
const queryTime = z.iso.datetime({ offset: true });

export const GRANULARITIES = { minute: 60, hour: 3600, day: 86_400 } as const;
export type Granularity = keyof typeof GRANULARITIES;

export const UsageGranularity = z.enum(['minute', 'hour', 'day']).meta({ id: 'UsageGranularity', description: 'Bucket size.', example: 'hour' });
/** Most buckets one usage request may return. */
export const MAX_USAGE_BUCKETS = 1500;

export const UsageBucket = z
  .object({
    start: timestamp.meta({ description: 'Start of the bucket (UTC).' }),
    requests: z.int().min(0).max(Number.MAX_SAFE_INTEGER).meta({ format: 'int64', description: 'Calls made with the key.' }),
    errors: z.int().min(0).max(Number.MAX_SAFE_INTEGER).meta({ format: 'int64', description: 'Of those, calls answered with 4xx or 5xx.' }),
  })
  .meta({ id: 'UsageBucket' });

export const KeyUsage = z
  .object({
    key_id: ApiKeyId,
    granularity: UsageGranularity,
    since: timestamp,
    until: timestamp,
    total_requests: z.int().min(0).max(Number.MAX_SAFE_INTEGER).meta({ format: 'int64' }),
    total_errors: z.int().min(0).max(Number.MAX_SAFE_INTEGER).meta({ format: 'int64' }),
    data: z.array(UsageBucket).meta({ description: 'One bucket per minute, hour or day, oldest first, empty ones included.' }),
  })
  .meta({
    id: 'KeyUsage',
    description: 'Calls made with one key, per minute, hour or day. Calls show up within about a second.',
    example: {
      key_id: 'key_01jd8x3k5q9v2m7n4p6r8t0w1y',
      granularity: 'hour',
      since: '2026-11-22T06:00:00.000Z',
      until: '2026-11-22T08:00:00.000Z',
      total_requests: 1250,
      total_errors: 3,
      data: [
        { start: '2026-11-22T06:00:00.000Z', requests: 400, errors: 1 },
        { start: '2026-11-22T07:00:00.000Z', requests: 850, errors: 2 },
      ],
    },
  });

export const getApiKeyUsage = defineEndpoint({
  operationId: 'getApiKeyUsage',
  method: 'GET',
  path: '/api-keys/{key_id}/usage',
  tags: ['Usage'],
  summary: 'Get a key\'s usage',
  description:
    `Counts a key's calls per minute, hour or day between \`since\` (default: 60 buckets back) and \`until\` (default: now), at most ${MAX_USAGE_BUCKETS} buckets.`,
  scopes: ['usage:read'],
  successStatus: 200,
  idempotent: false,
  input: z.object({
    key_id: ApiKeyId,
    granularity: UsageGranularity.default('hour'),
    since: queryTime.meta({ description: 'Start (ISO 8601), rounded down to a bucket.', example: '2026-11-22T00:00:00Z' }).optional(),
    until: queryTime.meta({ description: 'End (ISO 8601), exclusive. Default: now.', example: '2026-11-23T00:00:00Z' }).optional(),
  }),
  output: KeyUsage,
  errors: [404, 422],
});

export const AccessLogEntry = z
  .object({
    request_id: z.string().meta({ description: 'The request\'s X-Request-ID.' }),
    key_id: ApiKeyId.nullable(),
    method: z.string(),
    path: z.string().meta({ example: '/api/v1/modules' }),
    status: z.int().min(100).max(599),
    latency_ms: z.number().min(0).meta({ description: 'Time from the request\'s arrival to its last byte, in milliseconds.' }),
    client_address: z.string().nullable(),
    created_at: timestamp,
  })
  .meta({
    id: 'AccessLogEntry',
    description: 'One call to the API.',
    example: {
      request_id: 'req_01jd8x3k5q9v2m7n4p6r8t0w1y',
      key_id: 'key_01jd8x3k5q9v2m7n4p6r8t0w1y',
      method: 'GET',
      path: '/api/v1/modules',
      status: 200,
      latency_ms: 3.2,
      client_address: '203.0.113.7',
      created_at: '2026-11-22T08:15:30.123Z',
    },
  });

export const ACCESS_LOG_SORTABLE = ['created_at'] as const;
export const ACCESS_LOG_FIELDS = ['request_id', 'key_id', 'method', 'path', 'status', 'latency_ms', 'client_address', 'created_at'] as const;

export const listAccessLogs = defineEndpoint({
  operationId: 'listAccessLogs',
  method: 'GET',
  path: '/access-logs',
  tags: ['Usage'],
  summary: 'List access-log entries',
  description: 'Lists the workspace\'s calls, newest first, filterable by key, status, method and time. Calls show up within about a second.',
  scopes: ['usage:read'],
  successStatus: 200,
  idempotent: false,
  input: listQuery({ sortable: ACCESS_LOG_SORTABLE, fields: ACCESS_LOG_FIELDS, defaultSort: '-created_at' }).extend({
    key_id: ApiKeyId.optional(),
    status: z.coerce.number().int().min(100).max(599).meta({ description: 'Only this status code.', example: 429 }).optional(),
    method: z.enum(['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS']).meta({ description: 'Only this method.' }).optional(),
    since: queryTime.meta({ description: 'Only calls at or after this time (ISO 8601).', example: '2026-11-22T00:00:00Z' }).optional(),
    until: queryTime.meta({ description: 'Only calls before this time (ISO 8601).', example: '2026-11-23T00:00:00Z' }).optional(),
  }),
  output: listEnvelope(AccessLogEntry, 'AccessLogList'),
  errors: [422],
  list: { sortable: ACCESS_LOG_SORTABLE, fields: ACCESS_LOG_FIELDS },
});
