import { createHash } from 'node:crypto';
import {
  API_BASE_PATH,
  COMMON_ERROR_STATUSES,
  type EndpointContract,
  ERROR_STATUS_DESCRIPTIONS,
  ErrorEnvelope,
  type ErrorStatus,
  endpoints,
  MAX_LIST_NAMES,
  servesAnyKey,
} from '@charter/contracts';
import type { AnyTRPCRouter } from '@trpc/server';
import { generateOpenApiDocument } from 'trpc-to-openapi';
import { addWebhooks } from './webhooks.ts';

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
  431: 'RequestHeadersTooLarge',
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
  431: { error: 'request_headers_too_large', message: 'The request line and headers exceed 65536 bytes.' },
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

const IDEMPOTENCY_KEY_PATTERN = '^(?:[!#-~][ -~]{0,254}|"(?:[ !#-\\[\\]-~]|\\\\["\\\\]){1,255}")$';

/** Every counted response carries these (API.md, Rate limits). */
const RATE_LIMIT_HEADERS = Object.fromEntries(
  ['X-RateLimit-Limit', 'X-RateLimit-Remaining', 'X-RateLimit-Reset', 'RateLimit-Policy', 'RateLimit'].map((name) => [
    name,
    { $ref: `#/components/headers/${name}` },
  ]),
);

const COMMON_HEADERS = { 'X-Request-ID': REQUEST_ID_HEADER, ...RATE_LIMIT_HEADERS };

const DESCRIPTION = `The Charter reference API: workspaces hold modules, modules hold typed records.

**Authentication.** Send an API key as \`Authorization: Bearer <key>\`, \`Authorization: ApiKey <key>\` or \`X-API-Key: <key>\`. Keys look like \`sk_live_…\` or \`sk_test_…\`. Every key belongs to one workspace and sees only its data. Each operation lists the scopes it requires.

**Errors.** Every 4xx and 5xx has the same JSON body: \`{"error": <code>, "message": <text>, "request_id": "req_…"}\`, plus \`errors\` (per field) on 422 and \`required_scopes\` on 403.

**Requests.** JSON in and out. Every response carries \`X-Request-ID\` (yours, if you send 1–128 printable ASCII characters). Writes take an \`Idempotency-Key\`.

**Rate limits.** Each key has a per-minute limit (plus a burst allowance) and may have a daily quota; requests without a valid key are limited per client address. Every response says where you stand in \`X-RateLimit-*\` and the IETF \`RateLimit-Policy\`/\`RateLimit\` fields; a 429 carries \`Retry-After\`.

**Idempotency.** Send \`Idempotency-Key\` on POST, PATCH and DELETE: a repeat returns the first response with \`Idempotent-Replayed: true\` and changes nothing (24 hours).

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
    defs: { ErrorResponse: ErrorEnvelope },
  }) as unknown as Json;

  // Absolute, with the origin as a variable: generators need a full base URL (a relative one fails
  // to parse in some, and every partner had to add it by hand); the default is where `pnpm start` listens.
  document.servers = [
    {
      url: `{origin}${API_BASE_PATH}`,
      description: 'A Charter API. Set `origin` to where yours runs.',
      variables: { origin: { default: 'http://127.0.0.1:3000', description: 'Scheme, host and port of the API, without a trailing slash.' } },
    },
  ];
  document.tags = [
    { name: 'Modules', description: 'Collections of typed records.' },
    { name: 'Records', description: 'Entries of a module, validated against its fields.' },
    { name: 'API keys', description: 'Keys of the workspace: issue, scope, limit, rotate and revoke them.' },
    { name: 'Usage', description: 'Who called what, when: per-key usage and the access log.' },
    { name: 'System', description: 'Health and the API description itself. No key needed.' },
  ];
  document.components.securitySchemes = {
    BearerAuth: { type: 'http', scheme: 'bearer', description: 'An API key as a bearer token (`Authorization: Bearer sk_live_…`).' },
    ApiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key in the `X-API-Key` header.' },
  };
  document.components.headers = {
    'X-Request-ID': {
      description: 'The request ID: the caller\'s own when it sent a valid one, otherwise a new `req_…`.',
      // Every response carries it, whatever answered the request.
      required: true,
      schema: { type: 'string', example: 'req_01jd8x3k5q9v2m7n4p6r8t0w1y' },
    },
    'X-RateLimit-Limit': {
      description: 'Requests allowed in the current window of the binding limit (per minute: the limit plus the burst).',
      schema: { type: 'integer', example: 1200 },
    },
    'X-RateLimit-Remaining': { description: 'Requests left in that window.', schema: { type: 'integer', example: 1187 } },
    'X-RateLimit-Reset': { description: 'When that window ends, in Unix seconds.', schema: { type: 'integer', example: 1795853760 } },
    'RateLimit-Policy': {
      description: 'The limits that apply, one named policy each (draft-ietf-httpapi-ratelimit-headers): `q` requests per `w` seconds.',
      schema: { type: 'string', example: '"minute";q=1200;w=60, "day";q=50000;w=86400' },
    },
    RateLimit: {
      description: 'Each policy\'s remaining requests `r` and seconds `t` until its window resets.',
      schema: { type: 'string', example: '"minute";r=1187;t=42, "day";r=48810;t=56342' },
    },
    'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', example: 14 } },
    'Idempotent-Replayed': {
      description: 'Present and `true` when this is the stored response of an earlier request with the same Idempotency-Key.',
      schema: { type: 'string', enum: ['true'] },
    },
  };
  // Object.keys gives strings; errorResponse compares numbers. A 405 for a method a path does not
  // have belongs to no operation; an operation declares it when a setting can switch it off (the
  // records endpoints, through their module's api_methods), so the component exists only then.
  const declared = new Set(Object.values(endpoints).flatMap((contract) => contract.errors as ErrorStatus[]));
  document.components.responses = Object.fromEntries(
    Object.keys(ERROR_RESPONSE_NAMES)
      .map((status) => Number(status) as ErrorStatus)
      .filter((status) => status !== 405 || declared.has(405))
      .map((status) => [ERROR_RESPONSE_NAMES[status], errorResponse(status)]),
  );

  const byOperationId = new Map(Object.values(endpoints).map((contract) => [contract.operationId, contract as EndpointContract]));
  for (const pathItem of Object.values(document.paths as Json)) {
    for (const operation of Object.values(pathItem as Json) as Json[]) {
      const contract = byOperationId.get(operation.operationId);
      if (!contract) throw new Error(`No contract for operation ${operation.operationId}`);
      completeOperation(operation, contract);
    }
  }
  addLinks(document);
  addWebhooks(document);
  describeSparseItems(document);
  nameRequestBodies(document);
  openResponseSchemas(document);
  dropUnreferencedSchemas(document);
  Object.assign(document.paths, systemPaths());
  stripDateTimePatterns(document);
  return document;
}

/** A UUID-shaped key that differs per operation and stays the same from one generation to the next. */
function exampleIdempotencyKey(operationId: string): string {
  const hex = createHash('sha256').update(`idempotency-key example ${operationId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function errorResponse(status: ErrorStatus): Json {
  const headers: Json = { ...COMMON_HEADERS };
  if (status === 429 || status === 409 || status === 503) headers['Retry-After'] = { $ref: '#/components/headers/Retry-After' };
  if (status === 401) {
    headers['WWW-Authenticate'] = { description: 'Always `Bearer realm="api"`.', schema: { type: 'string' } };
  }
  if (status === 405) {
    headers.Allow = {
      description: 'The methods the path takes; on records, those its module\'s `api_methods` serve (empty when none).',
      schema: { type: 'string', example: 'GET, POST' },
    };
  }
  return {
    description: ERROR_STATUS_DESCRIPTIONS[status],
    headers,
    content: {
      'application/json': {
        schema: { $ref: '#/components/schemas/ErrorResponse' },
        example: { ...ERROR_EXAMPLES[status], request_id: 'req_01jd8x3k5q9v2m7n4p6r8t0w1y' },
      },
    },
  };
}

function completeOperation(operation: Json, contract: EndpointContract): void {
  operation.security = [{ BearerAuth: [...contract.scopes] }, { ApiKeyAuth: [...contract.scopes] }];
  operation.description = servesAnyKey(contract)
    ? `${contract.description}\n\nRequired scopes: none; any valid key.`
    : `${contract.description}\n\nRequired scopes: ${contract.scopes.map((scope) => `\`${scope}\``).join(', ')}${
        contract.scopeTarget ? ` (or the one-module form, e.g. \`${contract.scopes[0]}:<${contract.scopeTarget}>\`)` : ''
      }.`;

  const parameters: Json[] = operation.parameters ?? [];
  for (const parameter of parameters) {
    if (parameter.schema?.description && !parameter.description) parameter.description = parameter.schema.description;
    if (contract.list && parameter.name === 'sort') {
      commaListParameter(parameter, contract.list.sortable.flatMap((name) => [name, `-${name}`]));
    }
    if (contract.list && parameter.name === 'fields') commaListParameter(parameter, contract.list.fields);
    if (parameter.name === 'filter') {
      // A form-style array of "<field>:<value>" strings: every generator sends it right, where a
      // deepObject over a free-form map is sent wrongly or refused by most. The server also takes
      // `filter[<field>]=<value>`.
      parameter.style = 'form';
      parameter.explode = true;
      // As records.ts and modules.ts declare them: a field name, then a value up to 500 characters free of NUL.
      parameter.schema = {
        type: 'array',
        items: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}:[^\\u0000]{0,500}$' },
      };
      parameter.description =
        'Exact match on a module field, as `<field>:<value>` (for example `filter=email:ada@example.com`); repeat it to combine filters with AND (up to 20 values for one field). A field the module does not have, or a value not of its type, is a 422. `filter[status]=open` is accepted too.';
      // A field of the module the createModule example makes, so that the example works end to end.
      parameter.example = ['email:ada@example.com'];
    }
  }
  if (contract.idempotent) {
    parameters.push({
      in: 'header',
      name: 'Idempotency-Key',
      required: false,
      description:
        'Makes the request safe to retry: a repeat with the same key returns the first response and changes nothing. 1–255 printable ASCII characters, bare or as a quoted structured-field string (`"…"` with `\\"` and `\\\\` escapes); kept 24 hours. Use a new key for each new request: the same key with a different method, path or body is a 422 (`idempotency_key_reused`).',
      // Exactly what the server accepts (idempotency.ts): a bare key cannot start with a space or a
      // quote; a quoted one holds 1–255 characters once unescaped.
      schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN },
      // One example per operation: tools that send the example would otherwise reuse one key across writes.
      example: exampleIdempotencyKey(contract.operationId),
    });
  }
  operation.parameters = parameters;

  const example = (contract.input.meta() as Json | undefined)?.example;
  const bodyContent = operation.requestBody?.content?.['application/json'];
  // The server reads an empty body as `{}`: a body is required only when it has required fields.
  if (operation.requestBody) operation.requestBody.required = (bodyContent?.schema?.required ?? []).length > 0;
  if (bodyContent && example !== undefined) bodyContent.example = example;

  const success = operation.responses['200'];
  delete operation.responses['200'];
  const successHeaders: Json = { ...COMMON_HEADERS };
  if (contract.idempotent) successHeaders['Idempotent-Replayed'] = { $ref: '#/components/headers/Idempotent-Replayed' };
  if (contract.returnsSecret) {
    successHeaders['Cache-Control'] = { description: 'Always `no-store`: the body carries a secret.', schema: { type: 'string', enum: ['no-store'] } };
  }
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

  // Idempotent endpoints can also answer 400 (malformed key), 409 (key in flight) and 422 (key reused).
  const statuses = new Set<ErrorStatus>([...COMMON_ERROR_STATUSES, ...contract.errors, ...(contract.idempotent ? ([400, 409, 422] as const) : [])]);
  // No scope to lack: an any-key endpoint never answers 403.
  if (servesAnyKey(contract)) statuses.delete(403);
  for (const status of [...statuses].sort((a, b) => a - b)) {
    operation.responses[String(status)] = { $ref: `#/components/responses/${ERROR_RESPONSE_NAMES[status]}` };
  }
}

/**
 * A list's \`sort\` or \`fields\` as an array of the names it may hold, sent with \`style: form,
 * explode: false\`: on the wire the same comma-separated list the server parses
 * (\`sort=-created_at,name\`), and generators type each item from the enum, so a misspelled name
 * does not compile.
 */
function commaListParameter(parameter: Json, names: readonly string[]): void {
  const { description, default: fallback, example } = parameter.schema;
  const split = (value: unknown) => (typeof value === 'string' ? value.split(',') : value);
  parameter.style = 'form';
  parameter.explode = false;
  parameter.schema = {
    type: 'array',
    items: { type: 'string', enum: [...names] },
    minItems: 1,
    // The server's own bound, counted as the server counts: repeats included.
    maxItems: MAX_LIST_NAMES,
    // No uniqueItems: the server takes a name given again and ignores the repeat (the descriptions
    // say so), and an ordered sort list must not become a set in generated clients.
    description,
    ...(fallback !== undefined && { default: split(fallback) }),
    ...(example !== undefined && { example: split(example) }),
  };
}

function systemPaths(): Json {
  const plain = (description: string, content: Json) => ({
    description,
    headers: COMMON_HEADERS,
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
          '429': { $ref: '#/components/responses/RateLimitExceeded' },
          '431': { $ref: '#/components/responses/RequestHeadersTooLarge' },
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
          '200': plain('The OpenAPI 3.1 document.', { 'application/json': { schema: { type: 'object' } } }),
          '429': { $ref: '#/components/responses/RateLimitExceeded' },
          '431': { $ref: '#/components/responses/RequestHeadersTooLarge' },
        },
      },
    },
    '/openapi-3.0.json': {
      get: {
        operationId: 'getOpenApi30Document',
        summary: 'Get this document as OpenAPI 3.0',
        description: 'Returns this document in OpenAPI 3.0.3, for code generators that do not read 3.1: nullable types use `nullable`, and scopes move to `x-required-scopes`. No key needed.',
        tags: ['System'],
        security: [],
        responses: {
          '200': plain('The OpenAPI 3.0.3 document.', { 'application/json': { schema: { type: 'object' } } }),
          '429': { $ref: '#/components/responses/RateLimitExceeded' },
          '431': { $ref: '#/components/responses/RequestHeadersTooLarge' },
        },
      },
    },
  };
}

/** Calls \`visit\` on every object in a JSON tree, parents before their children. */
function forEachObject(node: unknown, visit: (object: Json) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) forEachObject(item, visit);
  } else if (node && typeof node === 'object') {
    visit(node as Json);
    for (const value of Object.values(node)) forEachObject(value, visit);
  }
}

/** Zod spells out a date-time regular expression beside \`format: date-time\`; the format says it all. */
function stripDateTimePatterns(document: Json): void {
  forEachObject(document, (object) => {
    if (object.format === 'date-time' && typeof object.pattern === 'string') delete object.pattern;
  });
}

/**
 * OpenAPI links from each create operation's 201 to the operations on what it created (get,
 * update, delete, and the collections below it), derived from the contracts' paths: the new
 * resource's path parameter comes from the response's `id`, the others from the response's
 * property of the same name. Link-following tools (Schemathesis' stateful phase, some SDKs) use them.
 */
function addLinks(document: Json): void {
  const contracts = Object.values(endpoints) as EndpointContract[];
  const params = (path: string) => [...path.matchAll(/\{([a-z_]+)\}/g)].map((match) => match[1] as string);
  for (const create of contracts.filter((contract) => contract.successStatus === 201)) {
    const prefix = `${create.path}/{`;
    const created = contracts.find((contract) => contract.path.startsWith(prefix))?.path.slice(prefix.length).split('}')[0];
    if (!created) continue;
    const itemPath = `${create.path}/{${created}}`;
    const outputProperties = (create.output as unknown as { shape?: Record<string, unknown> }).shape ?? {};
    const links: Json = {};
    for (const target of contracts) {
      const onItem = target.path === itemPath || (target.path.startsWith(`${itemPath}/`) && params(target.path).length === params(itemPath).length);
      if (!onItem) continue;
      const parameters = Object.fromEntries(
        params(target.path).map((name) => [name, name === created ? '$response.body#/id' : name in outputProperties ? `$response.body#/${name}` : `$request.path.${name}`]),
      );
      links[target.operationId] = {
        operationId: target.operationId,
        parameters,
        description: `${target.summary} — the one just created.`,
      };
    }
    const operation = document.paths[create.path][create.method.toLowerCase()];
    operation.responses['201'].links = links;
  }
}

/**
 * A list's \`fields\` parameter leaves properties out of each item, so list items get a schema of
 * their own (\`<Item>ListItem\`) in which only the identifying property is required. Single-resource
 * responses keep the full schema, so generated clients stay strict where they can.
 */
function describeSparseItems(document: Json): void {
  for (const contract of Object.values(endpoints) as EndpointContract[]) {
    if (!contract.list) continue;
    const success = document.paths[contract.path][contract.method.toLowerCase()].responses[String(contract.successStatus)];
    const envelope = resolve(document, success.content['application/json'].schema);
    const itemRef = envelope.properties.data.items.$ref as string;
    const itemName = itemRef.split('/').at(-1) as string;
    const listItemName = `${itemName}ListItem`;
    const key = contract.list.fields[0] as string;
    const note = `Every property is present, except those the request's \`fields\` parameter left out (\`${key}\` is always present).`;
    const full = resolve(document, { $ref: itemRef });
    document.components.schemas[listItemName] = {
      ...structuredClone(full),
      required: [key],
      description: `${full.description ? `${full.description} ` : ''}${note}`,
    };
    envelope.properties.data.items = { $ref: `#/components/schemas/${listItemName}` };
  }
}

/**
 * Request bodies become named components (\`CreateModuleRequest\`, …): inline, every generator
 * invents its own name for them (CreateModuleBody, CreateModuleJSONBody, …).
 */
function nameRequestBodies(document: Json): void {
  for (const contract of Object.values(endpoints) as EndpointContract[]) {
    const content = document.paths[contract.path][contract.method.toLowerCase()].requestBody?.content?.['application/json'];
    if (!content?.schema || content.schema.$ref) continue;
    const name = `${contract.operationId.charAt(0).toUpperCase()}${contract.operationId.slice(1)}Request`;
    document.components.schemas[name] = content.schema;
    content.schema = { $ref: `#/components/schemas/${name}` };
  }
}

/** Names of the component schemas reachable from \`roots\`, following \`$ref\`s. */
function reachableSchemas(document: Json, roots: unknown[]): Set<string> {
  const names = new Set<string>();
  const pending = [...roots];
  while (pending.length > 0) {
    forEachObject(pending.pop(), (object) => {
      const ref = object.$ref;
      if (typeof ref !== 'string' || !ref.startsWith('#/components/schemas/')) return;
      const name = ref.slice('#/components/schemas/'.length);
      if (names.has(name)) return;
      names.add(name);
      pending.push(document.components.schemas[name]);
    });
  }
  return names;
}

/**
 * Responses may grow new properties: a schema that forbids unknown ones makes generated clients
 * (Java's okhttp-gson, for one) throw on the first new field. Request bodies stay closed, since the
 * server refuses unknown fields there.
 */
function openResponseSchemas(document: Json): void {
  const responses = Object.values(document.paths as Json).flatMap((pathItem) =>
    (Object.values(pathItem as Json) as Json[]).map((operation) => operation.responses),
  );
  // Events are answers too, in the other direction: receivers must take new properties in their stride.
  for (const name of reachableSchemas(document, [...responses, document.components.responses, document.webhooks])) {
    forEachObject(document.components.schemas[name], (object) => {
      if (object.additionalProperties === false) delete object.additionalProperties;
    });
  }
}

/** Component schemas nothing points to any more (an item schema only lists used) are left out. */
function dropUnreferencedSchemas(document: Json): void {
  const used = reachableSchemas(document, [document.paths, document.components.responses, document.webhooks]);
  for (const name of Object.keys(document.components.schemas)) if (!used.has(name)) delete document.components.schemas[name];
}

function resolve(document: Json, schema: Json): Json {
  const ref = schema.$ref as string | undefined;
  if (!ref) return schema;
  return ref
    .slice(2)
    .split('/')
    .reduce((node: Json, part) => node[part], document);
}
