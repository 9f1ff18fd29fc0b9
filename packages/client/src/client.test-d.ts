import { describe, expectTypeOf, it } from 'vitest';
import type { components, paths } from '../test/fixtures/schema.ts';
import { Charter } from './client.ts';
import { unwrap } from './errors.ts';
import type { Paginator } from './pagination.ts';

type Module = components['schemas']['Module'];
type Record = components['schemas']['Record'];
type ErrorBody = components['schemas']['Error'];

const charter = new Charter<paths>({ baseUrl: 'http://127.0.0.1:3000/api/v1', apiKey: 'sk_test_x' });
const path = { path: { module_id: 'mod_01' } };

describe('paths', () => {
  it('accepts the documented paths and rejects others', () => {
    charter.GET('/modules');
    charter.GET('/modules/{module_id}', { params: path });
    // @ts-expect-error: no such path
    charter.GET('/modulez');
    // @ts-expect-error: the path exists, not with this method
    charter.PATCH('/modules', { body: { name: 'x' } });
  });

  it('demands path parameters', () => {
    // @ts-expect-error: module_id is required
    charter.GET('/modules/{module_id}');
    // @ts-expect-error: misspelled path parameter
    charter.GET('/modules/{module_id}', { params: { path: { moduleId: 'mod_01' } } });
  });
});

describe('query parameters', () => {
  it('accepts the documented ones with their types', () => {
    charter.GET('/modules', { params: { query: { limit: 10, cursor: 'c', sort: ['-created_at', 'name'], fields: ['id'] } } });
    // @ts-expect-error: limit is a number
    charter.GET('/modules', { params: { query: { limit: '10' } } });
  });

  it('rejects an unknown one, even beside known ones', () => {
    // @ts-expect-error: no such query parameter
    charter.GET('/modules', { params: { query: { limitt: 10 } } });
    // @ts-expect-error: no such query parameter, next to a valid one
    charter.GET('/modules', { params: { query: { limit: 10, sortt: 'name' } } });
  });
});

describe('bodies', () => {
  it('accepts a valid body and demands a required one', () => {
    charter.POST('/modules', { body: { name: 'Contacts', fields: [{ name: 'email', type: 'string', required: true }] } });
    // @ts-expect-error: the body is required
    charter.POST('/modules');
    // @ts-expect-error: name is required
    charter.POST('/modules', { body: { description: 'x' } });
  });

  it('rejects a misspelled field, even beside valid ones', () => {
    // @ts-expect-error: "nmae" is not a field
    charter.POST('/modules', { body: { nmae: 'Contacts' } });
    // @ts-expect-error: "descriptoin" is not a field
    charter.POST('/modules', { body: { name: 'Contacts', descriptoin: 'x' } });
    // @ts-expect-error: not a field type
    charter.POST('/modules', { body: { name: 'Contacts', fields: [{ name: 'e', type: 'text', required: true }] } });
  });
});

describe('call options', () => {
  it('accepts the per-call options with their types', () => {
    charter.POST('/modules', { body: { name: 'x' }, idempotencyKey: 'k', timeoutMs: 5000, maxRetries: 0, signal: AbortSignal.timeout(1) });
    // @ts-expect-error: timeoutMs is a number
    charter.GET('/modules', { timeoutMs: '5s' });
  });
});

describe('results', () => {
  it('types data and error from the document', async () => {
    const result = await charter.GET('/modules/{module_id}', { params: path });
    expectTypeOf(result.data).toEqualTypeOf<Module | undefined>();
    expectTypeOf(result.error).toEqualTypeOf<ErrorBody | undefined>();
    expectTypeOf(result.response).toEqualTypeOf<Response>();
    expectTypeOf(result.idempotencyKey).toEqualTypeOf<string | undefined>();
    if (result.data) {
      expectTypeOf(result.data.fields[0]!.type).toEqualTypeOf<'string' | 'number' | 'boolean' | 'date' | 'json'>();
      // @ts-expect-error: no such response field
      result.data.nmae;
    }
  });

  it('narrows to data with throwOnError', async () => {
    const throwing = new Charter<paths, true>({ baseUrl: 'http://x', throwOnError: true });
    const { data } = await throwing.POST('/modules', { body: { name: 'x' } });
    expectTypeOf(data).toEqualTypeOf<Module>();
  });

  it('infers throwOnError from the options', () => {
    expectTypeOf(new Charter({ baseUrl: 'http://x', throwOnError: true })).toEqualTypeOf<Charter<import('./generated/schema.ts').paths, true>>();
    expectTypeOf(new Charter({ baseUrl: 'http://x' })).toEqualTypeOf<Charter<import('./generated/schema.ts').paths, false>>();
  });

  it('unwraps a result to its data', async () => {
    expectTypeOf(unwrap(await charter.GET('/modules/{module_id}', { params: path }))).toEqualTypeOf<Module>();
  });
});

describe('pagination', () => {
  it('types the items of a list path', () => {
    const walk = charter.paginate('/modules/{module_id}/records', { params: { ...path, query: { limit: 100 } } });
    expectTypeOf(walk).toMatchTypeOf<Paginator<Record>>();
    expectTypeOf(charter.paginate('/modules')).toMatchTypeOf<AsyncIterable<Module>>();
    expectTypeOf(charter.paginate('/modules').toArray({ max: 10 })).resolves.toEqualTypeOf<Module[]>();
  });

  it('only walks list paths, with their query parameters', () => {
    charter.paginate('/modules/{module_id}/records', { params: { path: { module_id: 'mod_01' }, query: { limit: 100 } } });
    // @ts-expect-error: not a list
    charter.paginate('/modules/{module_id}', { params: path });
    // @ts-expect-error: no such query parameter
    charter.paginate('/modules', { params: { query: { pagesize: 100 } } });
    // @ts-expect-error: toArray demands a max
    charter.paginate('/modules').toArray();
  });
});

describe('empty responses', () => {
  it('types a 204 as undefined data', async () => {
    const throwing = new Charter<paths, true>({ baseUrl: 'http://x', throwOnError: true });
    expectTypeOf((await throwing.DELETE('/modules/{module_id}', { params: path })).data).toEqualTypeOf<undefined>();
    expectTypeOf((await charter.DELETE('/modules/{module_id}', { params: path })).data).toEqualTypeOf<undefined>();
  });
});
