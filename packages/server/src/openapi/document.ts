import {
  API_BASE_PATH,
  COMMON_ERROR_STATUSES,
  ERROR_STATUS_DESCRIPTIONS,
  type EndpointContract,
  endpoints,
  ErrorEnvelope,
  type ErrorStatus,
} from '@charter/contracts';
import type { AnyTRPCRouter } from '@trpc/server';
import { generateOpenApiDocument } from 'trpc-to-openapi';

// A loose view of the JSON document: the post-processor edits plain objects.
type Json = Record<string, any>;

const ERROR_RESPONSE_NAMES: Record<ErrorStatus, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'AccessDenied',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  422: 'UnprocessableEntity',
  429: 'RateLimitExceeded',
  500: 'ServerError',
  503: 'ServiceUnavailable',
};

const ERROR_EXAMPLES: Record<ErrorStatus, Json> = {
  400: { error: 'bad_request', message: 'The request body is not valid JSON: Unexpected end of JSON input' },
  401: { error: 'unauthorized', message: 'A valid API key is required.' },
  403: {
    error: 'access_denied',
    message: 'Insufficient permissions. Required scope: records:write',
    required_scopes: ['records:write'],
  },
  404: { error: 'not_found', message: 'Module not found.' },
  405: { error: 'method_not_allowed', message: 'PUT is not allowed on /api/v1/modules.' },
  409: { error: 'conflict', message: 'A module named "Contacts" already exists in this workspace.' },
  413: { error: 'payload_too_large', message: 'The request body is larger than 1048576 bytes.' },
  415: { error: 'unsupported_media_type', message: 'The request body must be application/json, not text/plain.' },
  422: {
    error: 'validation_failed',
    message: 'The given data was invalid: 1 field has an error.',
    errors: { name: ['The name field is required.'] },
  },
  429: {
    error: 'rate_limit_exceeded',
    message: 'Too many requests. Please retry after 14 seconds.',
    retry_after: 14,
    limit: 120,
    remaining: 0,
    reset_at: '2026-11-22T08:16:00Z',
  },
  500: { error: 'server_error', message: 'An unexpected error occurred. Quote the request ID when reporting it.' },
  503: { error: 'service_unavailable', message: 'The database is unreachable.' },
};

const REQUEST_ID_HEADER = { $ref: '#/components/headers/X-Request-ID' };

const DESCRIPTION = `The Charter reference API: workspaces hold modules, modules hold typed records.

**Authentication.** Send an API key as \`Authorization: Bearer <key>\`, \`Authorization: ApiKey <key>\` or \`X-API-Key: <key>\`. Keys look like \`sk_live_…\` or \`sk_test_…\`. Every key belongs to one workspace and sees only its data. Each operation lists the scopes it requires.

**Errors.** Every 4xx and 5xx has the same JSON body: \`{"error": <code>, "message": <text>, "request_id": "req_…"}\`, plus \`errors\` (per field) on 422 and \`required_scopes\` on 403.

**Requests.** JSON in and out. Every response carries \`X-Request-ID\` (yours, if you send 1–128 printable ASCII characters). Writes take an \`Idempotency-Key\`.

**Lists.** \`limit\` (≤ 100) with \`page\` or \`cursor\`; follow \`next_cursor\` (or the \`Link: rel="next"\` header) to walk every item exactly once.`;

/**
 * The OpenAPI 3.1 document: trpc-to-openapi's paths and schemas, then completed from each
 * endpoint's contract (success status, scoped security, the error envelope on every documented
 * error status, headers, examples), since that library knows none of them.
 */
export function buildOpenApiDocument(router: AnyTRPCRouter): Json {
  const document = generateOpenApiDocument(router as never, {
    title: 'Charter API',
    version: '1.0.0',
    description: DESCRIPTION,
    baseUrl: API_BASE_PATH,
    securitySchemes: {},
    defs: { Error: ErrorEnvelope },
  }) as unknown as Json;

  document.tags = [
    { name: 'Modules', description: 'Collections of typed records.' },
    { name: 'Records', description: 'Entries of a module, validated against its fields.' },
    { name: 'API keys', description: 'Keys of the workspace: issue, scope, limit, rotate and revoke them.' },
    { name: 'System', description: 'Health and the API description itself. No key needed.' },
  ];
  document.components.securitySchemes = {
    BearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key as a bearer token (`Authorization: Bearer sk_live_…`).' },
    ApiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key in the `X-API-Key` header.' },
  };
  document.components.headers = {
    'X-Request-ID': {
      description: 'The request ID: the caller\'s own when it sent a valid one, otherwise a new `req_…`.',
      schema: { type: 'string', example: 'req_01jd8x3k5q9v2m7n4p6r8t0w1y' },
    },
  };
  document.components.responses = Object.fromEntries(
    (Object.keys(ERROR_RESPONSE_NAMES) as unknown as ErrorStatus[]).map((status) => [
      ERROR_RESPONSE_NAMES[status],
      errorResponse(status),
    ]),
  );

  const byOperationId = new Map(Object.values(endpoints).map((contract) => [contract.operationId, contract as EndpointContract]));
  for (const pathItem of Object.values(document.paths as Json)) {
    for (const operation of Object.values(pathItem as Json) as Json[]) {
      const contract = byOperationId.get(operation.operationId);
      if (!contract) throw new Error(`No contract for operation ${operation.operationId}`);
      completeOperation(operation, contract);
    }
  }
  Object.assign(document.paths, systemPaths());
  stripDateTimePatterns(document);
  return document;
}

function errorResponse(status: ErrorStatus): Json {
  const headers: Json = { 'X-Request-ID': REQUEST_ID_HEADER };
  if (status === 401) {
    headers['WWW-Authenticate'] = { description: 'Always `Bearer realm="api"`.', schema: { type: 'string' } };
  }
  if (status === 405) headers.Allow = { description: 'The methods the path takes.', schema: { type: 'string' } };
  return {
    description: ERROR_STATUS_DESCRIPTIONS[status],
    headers,
    content: {
      'application/json': {
        schema: { $ref: '#/components/schemas/Error' },
        example: { ...ERROR_EXAMPLES[status], request_id: 'req_01jd8x3k5q9v2m7n4p6r8t0w1y' },
      },
    },
  };
}

function completeOperation(operation: Json, contract: EndpointContract): void {
  operation.security = [{ BearerAuth: [...contract.scopes] }, { ApiKeyAuth: [...contract.scopes] }];
  operation.description = `${contract.description}\n\nRequired scopes: ${contract.scopes.map((scope) => `\`${scope}\``).join(', ')}${
    contract.scopeTarget ? ` (or the one-module form, e.g. \`${contract.scopes[0]}:<${contract.scopeTarget}>\`)` : ''
  }.`;

  const parameters: Json[] = operation.parameters ?? [];
  for (const parameter of parameters) {
    if (parameter.schema?.description && !parameter.description) parameter.description = parameter.schema.description;
    if (parameter.name === 'filter') {
      parameter.style = 'deepObject';
      parameter.explode = true;
      parameter.schema = { type: 'object', additionalProperties: { type: 'string' } };
      parameter.example = { status: 'open' };
    }
  }
  if (contract.idempotent) {
    parameters.push({
      in: 'header',
      name: 'Idempotency-Key',
      required: false,
      description:
        'Makes the request safe to retry: a repeat with the same key returns the first response and changes nothing. 1–255 printable ASCII characters; kept 24 hours.',
      schema: { type: 'string', minLength: 1, maxLength: 255 },
      example: '5f0c6a0e-2b7e-4a57-9e3a-8d1c2f3b4a5d',
    });
  }
  operation.parameters = parameters;

  const example = (contract.input.meta() as Json | undefined)?.example;
  const bodyContent = operation.requestBody?.content?.['application/json'];
  if (bodyContent && example !== undefined) bodyContent.example = example;

  const success = operation.responses['200'];
  delete operation.responses['200'];
  const successHeaders: Json = { 'X-Request-ID': REQUEST_ID_HEADER };
  if (contract.list) {
    successHeaders.Link = {
      description: 'RFC 8288 link to the next page (`rel="next"`), present while there are more items.',
      schema: { type: 'string' },
    };
  }
  operation.responses[String(contract.successStatus)] =
    contract.successStatus === 204
      ? { description: 'Done. No content.', headers: successHeaders }
      : { ...success, description: contract.successStatus === 201 ? 'Created.' : 'OK.', headers: successHeaders };

  const statuses = new Set<ErrorStatus>([...COMMON_ERROR_STATUSES, ...contract.errors]);
  for (const status of [...statuses].sort((a, b) => a - b)) {
    operation.responses[String(status)] = { $ref: `#/components/responses/${ERROR_RESPONSE_NAMES[status]}` };
  }
}

function systemPaths(): Json {
  const plain = (description: string, content: Json) => ({
    description,
    headers: { 'X-Request-ID': REQUEST_ID_HEADER },
    content,
  });
  return {
    '/health': {
      get: {
        operationId: 'getHealth',
        summary: 'Check health',
        description: 'Reports whether the API and its database are up. No key needed.',
        tags: ['System'],
        security: [],
        responses: {
          '200': plain('The API and its database are up.', {
            'application/json': {
              schema: {
                type: 'object',
                properties: { status: { type: 'string', enum: ['ok'] }, database: { type: 'string', enum: ['ok'] } },
                required: ['status', 'database'],
              },
              example: { status: 'ok', database: 'ok' },
            },
          }),
          '503': { $ref: '#/components/responses/ServiceUnavailable' },
        },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'getOpenApiDocument',
        summary: 'Get this document',
        description: 'Returns this OpenAPI 3.1 document. No key needed.',
        tags: ['System'],
        security: [],
        responses: {
          '200': plain('The OpenAPI document.', { 'application/json': { schema: { type: 'object' } } }),
        },
      },
    },
  };
}

/** Zod spells out a date-time regular expression beside `format: date-time`; the format says it all. */
function stripDateTimePatterns(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) stripDateTimePatterns(item);
    return;
  }
  if (node && typeof node === 'object') {
    const object = node as Json;
    if (object.format === 'date-time' && typeof object.pattern === 'string') delete object.pattern;
    for (const value of Object.values(object)) stripDateTimePatterns(value);
  }
}
