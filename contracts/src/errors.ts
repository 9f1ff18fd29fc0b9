import { z } from 'zod';

/**
 * The one error vocabulary of the API: each code with the HTTP status it always travels with.
 * The server's error handler, the OpenAPI document and the client's error classes all read this table.
 */
export const ERROR_CODES = {
  bad_request: 400,
  cannot_retry: 400,
  unauthorized: 401,
  access_denied: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_key_in_use: 409,
  payload_too_large: 413,
  request_headers_too_large: 431,
  unsupported_media_type: 415,
  validation_failed: 422,
  idempotency_key_reused: 422,
  rate_limit_exceeded: 429,
  server_error: 500,
  service_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
export type ErrorStatus = (typeof ERROR_CODES)[ErrorCode];

/**
 * Deepest nesting of objects and arrays a JSON request body may have: deeper bodies are a 400
 * `bad_request`, refused before anything recursive reads them.
 */
export const MAX_JSON_DEPTH = 64;

/** Human descriptions of each error status, used as the response descriptions in the document. */
export const ERROR_STATUS_DESCRIPTIONS: Record<ErrorStatus, string> = {
  400: `Malformed request: unparsable JSON, JSON nested deeper than ${MAX_JSON_DEPTH} levels, or a malformed header such as Idempotency-Key (\`bad_request\`); or a webhook delivery that succeeded or was abandoned, which cannot be retried (\`cannot_retry\`).`,
  401: 'Missing, malformed, unknown, expired or revoked API key. All of these look the same.',
  403: 'The key lacks a required scope; `required_scopes` names them.',
  404: 'Unknown route, a resource that does not exist in this workspace, or the records of a module whose `api_enabled` is false.',
  405: 'The path exists but not with this method, or the module\'s `api_methods` switch this records endpoint off; `Allow` lists the methods the path takes.',
  409: 'A domain conflict (`conflict`), or the same Idempotency-Key is still in flight (`idempotency_key_in_use`, with `Retry-After`).',
  413: 'The request body is larger than the limit.',
  415: 'The request body is not `application/json`.',
  431: 'The request line and headers together exceed 64 KiB (a URL that long is usually a mistake).',
  422: 'Input failed validation (`validation_failed`, per-field `errors`), or an Idempotency-Key was reused with a different request (`idempotency_key_reused`).',
  429: 'Rate limit or daily quota exceeded; wait `retry_after` seconds.',
  500: 'Unexpected server error. The body never contains a stack trace or SQL.',
  503: 'The service cannot serve the request right now: the database is unreachable, the workspace has too many requests in progress, or a query ran past the statement timeout; retry after `Retry-After` seconds when it is present.',
};

export const ErrorEnvelope = z
  .object({
    error: z
      .enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]])
      .meta({ id: 'ErrorCode', description: 'Machine-readable error code.' }),
    message: z.string().meta({ description: 'Human-readable explanation.' }),
    request_id: z.string().meta({ description: 'The request ID, also in the `X-Request-ID` header.', example: 'req_01jd8x3k5q9v2m7n4p6r8t0w1y' }),
    errors: z
      .record(z.string(), z.array(z.string()))
      .optional()
      .meta({ description: 'Per-field messages (422 validation_failed).', example: { name: ['The name field is required.'] } }),
    required_scopes: z.array(z.string()).optional().meta({ description: 'Scopes the key lacks (403).' }),
    retry_after: z.int().min(0).max(86_400).optional().meta({ description: 'Seconds to wait before retrying (429, 503).' }),
    limit: z.int().min(0).max(1_000_000_000).optional().meta({ description: 'The limit that was exceeded (429).' }),
    remaining: z.int().min(0).max(1_000_000_000).optional().meta({ description: 'Requests left in the window (429).' }),
    reset_at: z.iso.datetime().optional().meta({ description: 'When the window resets, ISO 8601 UTC (429).' }),
    database: z.enum(['unreachable']).optional().meta({ description: 'Set by `GET /health` when its database does not answer (503).' }),
  })
  .meta({
    // Not `Error`: that name clashes with Go's error interface and Java's java.lang.Error in generated clients.
    id: 'ErrorResponse',
    description: 'The envelope of every 4xx and 5xx response.',
    example: { error: 'not_found', message: 'Module not found.', request_id: 'req_01jd8x3k5q9v2m7n4p6r8t0w1y' },
  });

export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;
