import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, createModule, startTestServer, type TestServer } from '../support/server.ts';

// What partners' tools found in the documents: Retry-After missing on 409/429 (statuses were
// compared as strings), request bodies required where an empty one is accepted, an Idempotency-Key
// schema wider than the server, and no OpenAPI 3.0 version for generators that need one.
let server: TestServer;
let v31: any;
let v30: any;
beforeAll(async () => {
  server = await startTestServer();
  v31 = await (await fetch(`${server.url}/api/v1/openapi.json`)).json();
  v30 = await (await fetch(`${server.url}/api/v1/openapi-3.0.json`)).json();
});
afterAll(() => server.close());

describe('the OpenAPI documents', () => {
  it('serve the committed OpenAPI 3.0.3 version, which a standard validator accepts', async () => {
    const committed = JSON.parse(await readFile(fileURLToPath(new URL('../../apps/api/openapi-3.0.json', import.meta.url)), 'utf8'));
    const { 'x-generated': stamp, ...rest } = committed;
    expect(stamp).toMatch(/Do not edit/);
    expect(v30).toEqual(rest);
    expect(v30.openapi).toBe('3.0.3');
    const result = await validate(structuredClone(v30));
    expect(result.valid ? [] : result.errors).toEqual([]);
    const text = JSON.stringify(v30);
    expect(text).not.toMatch(/"type":\[/);
    expect(text).not.toMatch(/"(const|examples|propertyNames)":/);
    const createRecord = v30.paths['/modules/{module_id}/records'].post;
    expect(createRecord.security).toEqual([{ BearerAuth: [] }, { ApiKeyAuth: [] }]);
    expect(createRecord['x-required-scopes']).toEqual(['records:write']);
  });

  it("give generators what they need without help: an absolute server, int64 counters, one Idempotency-Key example per write, a filter they send right", () => {
    for (const document of [v31, v30]) {
      expect(document.servers).toEqual([
        expect.objectContaining({ url: '{origin}/api/v1', variables: { origin: expect.objectContaining({ default: 'http://127.0.0.1:3000' }) } }),
      ]);
    }
    const schemas = v31.components.schemas;
    for (const [schema, property] of [['ModuleList', 'total'], ['RecordList', 'total'], ['ApiKeyList', 'total'], ['AccessLogList', 'total'], ['KeyUsage', 'total_requests'], ['KeyUsage', 'total_errors'], ['UsageBucket', 'requests'], ['UsageBucket', 'errors']] as const) {
      expect(schemas[schema].properties[property].format, `${schema}.${property}`).toBe('int64');
    }
    const examples: string[] = [];
    for (const pathItem of Object.values(v31.paths) as Record<string, { parameters?: { name: string; example?: string }[] }>[]) {
      for (const operation of Object.values(pathItem)) {
        const header = operation.parameters?.find((parameter) => parameter.name === 'Idempotency-Key');
        if (header) examples.push(header.example as string);
      }
    }
    expect(examples.length).toBeGreaterThan(8);
    expect(new Set(examples).size).toBe(examples.length);
    const filter = v31.paths['/modules/{module_id}/records'].get.parameters.find((parameter: { name: string }) => parameter.name === 'filter');
    expect(filter).toMatchObject({ style: 'form', explode: true, schema: { type: 'array', items: { type: 'string' } } });
  });

  it("has examples that work against the module its own createModule example makes", async () => {
    const json = (operation: any) => operation.requestBody.content['application/json'].example;
    const moduleExample = json(v31.paths['/modules'].post);
    const module = await call(server, 'POST', '/modules', { body: { ...moduleExample, name: `${moduleExample.name} ${Math.random()}` } });
    expect(module.status, module.text).toBe(201);
    const records = `/modules/${module.body.id}/records`;
    const created = await call(server, 'POST', records, { body: json(v31.paths['/modules/{module_id}/records'].post) });
    expect(created.status, created.text).toBe(201);
    const patched = await call(server, 'PATCH', `${records}/${created.body.id}`, { body: json(v31.paths['/modules/{module_id}/records/{record_id}'].patch) });
    expect(patched.status, patched.text).toBe(200);
    const filter = v31.paths['/modules/{module_id}/records'].get.parameters.find((parameter: { name: string }) => parameter.name === 'filter');
    const query = (filter.example as string[]).map((item) => `filter=${encodeURIComponent(item)}`).join('&');
    const filtered = await call(server, 'GET', `${records}?${query}`);
    expect(filtered.status, filtered.text).toBe(200);
  });

  it('document Retry-After on 409 and 429, and X-Request-ID as always present', () => {
    expect(Object.keys(v31.components.responses.RateLimitExceeded.headers)).toContain('Retry-After');
    expect(Object.keys(v31.components.responses.Conflict.headers)).toContain('Retry-After');
    expect(v31.components.headers['X-Request-ID'].required).toBe(true);
  });

  it('link each create to the operations on what it created', () => {
    const links = v31.paths['/modules'].post.responses['201'].links;
    expect(Object.keys(links).sort()).toEqual(['createRecord', 'deleteModule', 'getModule', 'listRecords', 'updateModule']);
    expect(links.getModule.parameters).toEqual({ module_id: '$response.body#/id' });
    const recordLinks = v31.paths['/modules/{module_id}/records'].post.responses['201'].links;
    expect(recordLinks.getRecord.parameters).toEqual({ module_id: '$response.body#/module_id', record_id: '$response.body#/id' });
  });

  it('require a request body only where it has required fields, as the server does', async () => {
    expect(v31.paths['/modules/{module_id}'].patch.requestBody.required).toBe(false);
    expect(v31.paths['/modules'].post.requestBody.required).toBe(true);
    const module = await createModule(server);
    const patched = await call(server, 'PATCH', `/modules/${module.id}`);
    expect(patched.status).toBe(200);
  });

  it('describe Idempotency-Key exactly as the server accepts it', async () => {
    const parameter = v31.paths['/modules'].post.parameters.find((p: { name: string }) => p.name === 'Idempotency-Key');
    const pattern = new RegExp(parameter.schema.pattern);
    // (HTTP strips white space around a header value, so a leading space never reaches the server.)
    const keys = ['k-1', 'a b', '"quoted"', '"with \\" escape"', '"x', '""', 'é', 'x'.repeat(255), 'x'.repeat(256)];
    for (const key of keys) {
      let status: number;
      try {
        status = (await call(server, 'DELETE', '/modules/mod_00000000000000000000000000', { headers: { 'idempotency-key': key } })).status;
      } catch {
        status = 400; // fetch itself refuses some header values
      }
      expect(status === 400, key).toBe(!pattern.test(key));
    }
  });

  it('list the names `sort` and `fields` may hold, in a form generators type and send as the server reads it', async () => {
    const module = await createModule(server);
    const lists = { '/modules': '/modules', '/modules/{module_id}/records': `/modules/${module.id}/records`, '/api-keys': '/api-keys', '/access-logs': '/access-logs' };
    for (const [path, url] of Object.entries(lists)) {
      for (const document of [v31, v30]) {
        const parameters = document.paths[path].get.parameters as { name: string; style?: string; explode?: boolean; schema: any }[];
        for (const name of ['sort', 'fields']) {
          const parameter = parameters.find((p) => p.name === name)!;
          expect(parameter, `${path} ${name}`).toMatchObject({ style: 'form', explode: false, schema: { type: 'array', minItems: 1 } });
          // The server takes a name given again and ignores the repeat: the document must not say it refuses one.
          expect(parameter.schema.uniqueItems, `${path} ${name}`).toBeUndefined();
          expect(parameter.schema.items.enum.length).toBeGreaterThan(0);
        }
      }
      // Every listed name, sent as style: form, explode: false sends it: one comma-separated value.
      const enumOf = (name: string) => v31.paths[path].get.parameters.find((p: { name: string }) => p.name === name).schema.items.enum as string[];
      const ascending = enumOf('sort').filter((key) => !key.startsWith('-'));
      for (const sort of [ascending.join(','), enumOf('sort').filter((key) => key.startsWith('-')).join(',')]) {
        const response = await call(server, 'GET', `${url}?sort=${sort}&fields=${enumOf('fields').join(',')}`);
        expect(response.status, `${url} sort=${sort}`).toBe(200);
      }
      expect((await call(server, 'GET', `${url}?sort=nme`)).status).toBe(422);
      const [first] = enumOf('fields');
      const repeated = await call(server, 'GET', `${url}?sort=${ascending[0]},${ascending[0]}&fields=${first},${first}`);
      expect(repeated.status, `${url} with repeated names`).toBe(200);
    }
  });

  it('say that list items may lack what `fields` left out, and keep single resources strict', () => {
    expect(v31.components.schemas.ModuleListItem.required).toEqual(['id']);
    expect(v31.components.schemas.AccessLogEntryListItem.required).toEqual(['request_id']);
    expect(v31.components.schemas.ModuleListItem.description).toContain('`fields`');
    expect(v31.components.schemas.ModuleList.properties.data.items).toEqual({ $ref: '#/components/schemas/ModuleListItem' });
    expect(v31.components.schemas.Module.required).toEqual(['id', 'name', 'description', 'fields', 'api_enabled', 'api_methods', 'created_at', 'updated_at']);
  });

  it('leave response schemas open to new properties, request bodies closed', () => {
    for (const name of ['Module', 'ModuleListItem', 'Record', 'ApiKey', 'ErrorResponse']) {
      expect(v31.components.schemas[name].additionalProperties, name).toBeUndefined();
    }
    expect(v31.paths['/modules'].post.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CreateModuleRequest' });
    expect(v31.components.schemas.CreateModuleRequest.additionalProperties).toBe(false);
  });

  it('name request bodies and shared enums, so generated clients get one type each', () => {
    for (const name of ['Tier', 'KeyMode', 'FieldType', 'ErrorCode', 'UsageGranularity', 'ModuleField', 'ModuleFieldInput', 'RotateApiKeyRequest']) {
      expect(v31.components.schemas[name], name).toBeDefined();
    }
    expect(v31.components.schemas.Error).toBeUndefined();
  });
});
