/**
 * The OpenAPI 3.1 document rewritten as OpenAPI 3.0.3, for code generators that read only 3.0.
 * It covers what the 3.1 document uses and what JSON Schema 2020-12 lets it use; anything 3.0
 * cannot say is dropped from schemas (their meaning only widens), never turned into an error.
 *
 * Written here rather than taken from a package: the maintained converter on npm misses numeric
 * `exclusiveMinimum`, `anyOf` with `{type: 'null'}`, falsy `const` values and scopes on non-OAuth
 * schemes, and brings TypeScript 4 as a run-time dependency.
 */

import { webhooksAsExtension } from './webhooks.ts';

// A loose view of the JSON document, as in document.ts.
type Json = Record<string, any>;

/** Keywords of JSON Schema 2020-12 that OpenAPI 3.0's schema object does not have. */
const DROPPED_KEYWORDS = [
  '$schema',
  '$id',
  '$anchor',
  '$comment',
  '$defs',
  'propertyNames',
  'patternProperties',
  'unevaluatedProperties',
  'unevaluatedItems',
  'dependentRequired',
  'dependentSchemas',
  'contentMediaType',
  'contentEncoding',
  'contentSchema',
  'if',
  'then',
  'else',
  'prefixItems',
  'contains',
  'minContains',
  'maxContains',
];

/** Keywords whose value is one schema, or a map or list of schemas. */
const SCHEMA_VALUED = ['items', 'not', 'additionalProperties'];
const SCHEMA_MAPS = ['properties'];
const SCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf'];

export function downgradeToOpenApi30(document: Json): Json {
  const result = structuredClone(document) as Json;
  result.openapi = '3.0.3';
  delete result.jsonSchemaDialect;
  if (result.info) {
    delete result.info.summary;
    if (result.info.license) delete result.info.license.identifier;
  }
  if (result.components) {
    delete result.components.pathItems;
    for (const [name, schema] of Object.entries((result.components.schemas ?? {}) as Json)) {
      result.components.schemas[name] = downgradeSchema(schema);
    }
    for (const header of Object.values((result.components.headers ?? {}) as Json)) downgradeCarrier(header);
    for (const parameter of Object.values((result.components.parameters ?? {}) as Json)) downgradeCarrier(parameter);
    for (const response of Object.values((result.components.responses ?? {}) as Json)) downgradeResponse(response);
    for (const body of Object.values((result.components.requestBodies ?? {}) as Json)) downgradeContent(body.content);
  }
  const schemes = (result.components?.securitySchemes ?? {}) as Json;
  const takesScopes = (name: string) => ['oauth2', 'openIdConnect'].includes(schemes[name]?.type);
  if (result.security) result.security = downgradeSecurity(result.security, takesScopes, result);
  for (const pathItem of Object.values((result.paths ?? {}) as Json)) {
    for (const parameter of pathItem.parameters ?? []) downgradeCarrier(parameter);
    for (const method of ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']) {
      const operation = pathItem[method];
      if (!operation) continue;
      for (const parameter of operation.parameters ?? []) downgradeCarrier(parameter);
      if (operation.requestBody) downgradeContent(operation.requestBody.content);
      for (const response of Object.values((operation.responses ?? {}) as Json)) downgradeResponse(response);
      if (operation.security) operation.security = downgradeSecurity(operation.security, takesScopes, operation, true);
    }
  }
  webhooksAsExtension(result, (pathItem) => {
    for (const operation of Object.values(pathItem) as Json[]) {
      for (const parameter of operation.parameters ?? []) downgradeCarrier(parameter);
      if (operation.requestBody) downgradeContent(operation.requestBody.content);
      for (const response of Object.values((operation.responses ?? {}) as Json)) downgradeResponse(response);
    }
  });
  return result;
}

/**
 * In 3.0 only OAuth 2 and OpenID Connect requirements list scopes; for other schemes the list must
 * be empty. The scopes move to `x-required-scopes` on the same object (the operation, or the
 * document for top-level security) so that nothing is lost.
 */
function downgradeSecurity(requirements: Json[], takesScopes: (name: string) => boolean, owner: Json, ofOperation = false): Json[] {
  const moved = new Set<string>();
  const result = requirements.map((requirement) =>
    Object.fromEntries(
      Object.entries(requirement).map(([name, scopes]) => {
        if (takesScopes(name)) return [name, scopes];
        for (const scope of scopes as string[]) moved.add(scope);
        return [name, []];
      }),
    ),
  );
  // An operation that needs a key but no scope (an any-key endpoint) says so too: `[]`, not absent.
  if (moved.size > 0 || (ofOperation && requirements.length > 0)) owner['x-required-scopes'] = [...moved];
  return result;
}

function downgradeResponse(response: Json): void {
  if (response.$ref) return;
  for (const header of Object.values((response.headers ?? {}) as Json)) downgradeCarrier(header);
  downgradeContent(response.content);
}

function downgradeContent(content: Json | undefined): void {
  for (const media of Object.values(content ?? {}) as Json[]) downgradeCarrier(media);
}

/** A parameter, header or media type object: its `schema` is a JSON Schema. */
function downgradeCarrier(carrier: Json): void {
  if (carrier && !carrier.$ref && carrier.schema) carrier.schema = downgradeSchema(carrier.schema);
}

export function downgradeSchema(input: Json): Json {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input;
  let schema: Json = { ...input };
  for (const keyword of DROPPED_KEYWORDS) delete schema[keyword];

  // 3.0 has no `$ref` siblings: they would be ignored, so keep the reference and its description.
  if (schema.$ref) {
    const { $ref, description } = schema;
    return description === undefined ? { $ref } : { allOf: [{ $ref }], description };
  }

  if ('const' in schema) {
    schema.enum = [schema.const];
    delete schema.const;
  }
  if (Array.isArray(schema.examples)) {
    if (schema.example === undefined && schema.examples.length > 0) schema.example = schema.examples[0];
    delete schema.examples;
  }
  // JSON Schema 2020-12 states exclusive bounds as numbers; 3.0 as a flag beside minimum/maximum.
  for (const [exclusive, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof schema[exclusive] === 'number') {
      schema[bound] = schema[exclusive];
      schema[exclusive] = true;
    }
  }

  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((type: string) => type !== 'null');
    const nullable = types.length < schema.type.length;
    if (types.length === 1) schema.type = types[0];
    else {
      delete schema.type;
      if (types.length > 1) schema.anyOf = types.map((type: string) => ({ type }));
    }
    if (nullable) schema.nullable = true;
  } else if (schema.type === 'null') {
    delete schema.type;
    schema.nullable = true;
    schema.enum = [null];
  }

  for (const keyword of SCHEMA_VALUED) {
    if (schema[keyword] && typeof schema[keyword] === 'object') schema[keyword] = downgradeSchema(schema[keyword]);
  }
  for (const keyword of SCHEMA_MAPS) {
    if (schema[keyword]) {
      schema[keyword] = Object.fromEntries(Object.entries(schema[keyword] as Json).map(([name, sub]) => [name, downgradeSchema(sub)]));
    }
  }
  for (const keyword of SCHEMA_LISTS) {
    if (Array.isArray(schema[keyword])) schema[keyword] = schema[keyword].map((sub: Json) => downgradeSchema(sub));
  }

  // `anyOf: [X, {type: 'null'}]`, how a nullable reference or union is written in 3.1, becomes X
  // with `nullable: true` (inline) or an `allOf` wrapper (a reference, which takes no siblings).
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const branches = schema[keyword] as Json[] | undefined;
    if (!branches) continue;
    const isNull = (branch: Json) => branch.nullable === true && Array.isArray(branch.enum) && branch.enum.length === 1 && branch.enum[0] === null;
    const rest = branches.filter((branch) => !isNull(branch));
    if (rest.length === branches.length) continue;
    delete schema[keyword];
    if (rest.length === 1 && !(rest[0] as Json).$ref && !Object.keys(rest[0] as Json).some((key) => key in schema && key !== 'description')) {
      schema = { ...(rest[0] as Json), ...schema, nullable: true };
    } else if (rest.length === 1) {
      schema = { ...schema, allOf: [rest[0]], nullable: true };
    } else {
      schema = { ...schema, [keyword]: rest, nullable: true };
    }
  }
  return schema;
}
