import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { endpoints, WEBHOOK_EVENT_SCHEMAS, WEBHOOK_EVENT_TYPES } from '@charter/contracts';
import { validate } from '@readme/openapi-parser';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './support/server.ts';

const committedPath = fileURLToPath(new URL('../apps/api/openapi.json', import.meta.url));
let server: TestServer;
let served: any;

beforeAll(async () => {
  server = await startTestServer();
  served = await (await fetch(`${server.url}/api/v1/openapi.json`)).json();
});
afterAll(() => server.close());

describe('the OpenAPI document', () => {
  it('is served exactly as committed (regenerate with `pnpm generate`)', async () => {
    const { 'x-generated': stamp, ...committed } = JSON.parse(await readFile(committedPath, 'utf8'));
    expect(stamp).toMatch(/Do not edit/);
    expect(served).toEqual(committed);
  });

  it('validates as OpenAPI 3.1 with a standard validator', async () => {
    expect(served.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(served));
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.valid).toBe(true);
  });

  it('declares each contract: scopes, success status, error envelope, idempotency', () => {
    for (const contract of Object.values(endpoints)) {
      const operation = served.paths[contract.path][contract.method.toLowerCase()];
      expect(operation.operationId).toBe(contract.operationId);
      expect(operation.summary && operation.description && operation.tags.length).toBeTruthy();
      expect(operation.security).toEqual([{ BearerAuth: contract.scopes }, { ApiKeyAuth: contract.scopes }]);
      expect(Object.keys(operation.responses)).toContain(String(contract.successStatus));
      expect(operation.responses['200'] === undefined).toBe(contract.successStatus !== 200);
      // An any-key endpoint has no scope to lack: no 403.
      for (const status of [401, ...(contract.scopes.length > 0 ? [403] : []), 500, ...contract.errors]) {
        expect(operation.responses[String(status)], `${contract.operationId} ${status}`).toBeDefined();
      }
      const idempotencyHeader = (operation.parameters ?? []).find((p: { name: string }) => p.name === 'Idempotency-Key');
      expect(Boolean(idempotencyHeader)).toBe(contract.idempotent);
    }
    expect(served.components.responses.NotFound.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorResponse' });
    expect(served.components.schemas.ErrorResponse.required).toEqual(['error', 'message', 'request_id']);
  });

  it('generates types with openapi-typescript that compile against a sample call, and catch mistakes', async () => {
    const dir = fileURLToPath(new URL('./.tmp/openapi-types/', import.meta.url));
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const ast = await openapiTS(structuredClone(served));
    await writeFile(`${dir}schema.ts`, astToString(ast));
    await writeFile(
      `${dir}sample.ts`,
      `import createClient from 'openapi-fetch';
import type { paths } from './schema.ts';

// The document's sort and fields lists are style: form, explode: false (sort=-created_at,name).
const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:3000/api/v1', querySerializer: { array: { style: 'form', explode: false } } });

export async function sample(): Promise<string> {
  const created = await client.POST('/modules', {
    body: { name: 'Contacts', fields: [{ name: 'email', type: 'string', required: true }] },
    params: { header: { 'Idempotency-Key': 'k-1' } },
  });
  if (!created.data) throw new Error(created.error?.message);
  const records = await client.GET('/modules/{module_id}/records', {
    params: { path: { module_id: created.data.id }, query: { limit: 10, sort: ['-created_at'] } },
  });
  // @ts-expect-error a sort key that does not exist is a compile error
  await client.GET('/modules', { params: { query: { sort: ['nme'] } } });
  const first: string | undefined = records.data?.data[0]?.id;
  const cursor: string | null | undefined = records.data?.next_cursor;
  // @ts-expect-error an unknown path is a compile error
  await client.GET('/modulez');
  // @ts-expect-error a misspelled body field is a compile error
  await client.POST('/modules', { body: { nmae: 'x' } });
  return first ?? cursor ?? created.data.id;
}
`,
    );
    await writeFile(
      `${dir}tsconfig.json`,
      JSON.stringify({ extends: '../../../tsconfig.base.json', compilerOptions: { types: [] }, include: ['*.ts'] }),
    );
    const tsc = fileURLToPath(new URL('../node_modules/.bin/tsc', import.meta.url));
    const result = await promisify(execFile)(tsc, ['-p', dir]).then(
      () => ({ code: 0, output: '' }),
      (error: { code: number; stdout: string }) => ({ code: error.code, output: error.stdout }),
    );
    expect(result.output).toBe('');
    expect(result.code).toBe(0);
  });
});

describe('the webhooks of the document', () => {
  it('describe every event type, its body the event schema, signed by the Standard Webhooks headers; the 3.0 document carries them as x-webhooks', async () => {
    expect(Object.keys(served.webhooks)).toEqual(WEBHOOK_EVENT_TYPES);
    for (const type of WEBHOOK_EVENT_TYPES) {
      const operation = served.webhooks[type].post;
      const ref: string = operation.requestBody.content['application/json'].schema.$ref;
      const schema = served.components.schemas[ref.split('/').at(-1) as string];
      expect(schema.properties.type.const, type).toBe(type);
      expect(schema.required).toEqual(['id', 'type', 'created_at', 'workspace_id', 'data']);
      expect(operation.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(['webhook-id', 'webhook-timestamp', 'webhook-signature']);
      // The example is a valid event of its type.
      const example = operation.requestBody.content['application/json'].example;
      expect(WEBHOOK_EVENT_SCHEMAS[type].strict().parse(example)).toEqual(example);
    }
    // One schema per resource, shared by the paths and the events.
    expect(served.components.schemas.RecordCreatedEvent.properties.data).toEqual({ $ref: '#/components/schemas/Record' });
    const downgraded = await (await fetch(`${server.url}/api/v1/openapi-3.0.json`)).json();
    expect(downgraded.webhooks).toBeUndefined();
    expect(Object.keys(downgraded['x-webhooks'])).toEqual(WEBHOOK_EVENT_TYPES);
  });
});

describe('the API reference page', () => {
  it('renders the document from assets served locally, with no outside address', async () => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('/docs/init.js');
    const init = await (await fetch(`${server.url}/docs/init.js`)).text();
    expect(init).toContain("url: '/api/v1/openapi.json'");
    expect(html + init).not.toMatch(/https?:\/\//);
    for (const asset of ['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js']) {
      expect(html).toContain(asset);
      const response = await fetch(`${server.url}${asset}`);
      expect(response.status).toBe(200);
      expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
    }
  });
});
