import { describe, expectTypeOf, it } from 'vitest';
import { Charter } from './client.ts';
import type { CharterError } from './errors.ts';
import type { components } from './generated/schema.ts';
import type { ApiKey, ErrorCode, Module } from './index.ts';

// The default client is typed by the API's own document (src/generated/schema.ts, from `pnpm generate`).
const charter = new Charter({ baseUrl: 'http://127.0.0.1:3000/api/v1', apiKey: 'sk_test_x' });
type Schemas = components['schemas'];

describe('the API’s own document', () => {
  it('types modules and records end to end', async () => {
    expectTypeOf((await charter.GET('/modules')).data?.data).toEqualTypeOf<Required<Schemas['ModuleListItem']>[] | undefined>();
    expectTypeOf(charter.paginate('/modules/{module_id}/records', { params: { path: { module_id: 'mod_01' } } })).toMatchTypeOf<
      AsyncIterable<Schemas['Record']>
    >();
    const created = await charter.POST('/modules', { body: { name: 'Contacts', fields: [{ name: 'email', type: 'string' }] } });
    expectTypeOf(created.data).toEqualTypeOf<Schemas['Module'] | undefined>();
  });

  it('rejects what the document does not declare', () => {
    // @ts-expect-error: no such path
    charter.GET('/module');
    // @ts-expect-error: no such query parameter
    charter.GET('/modules', { params: { query: { per_page: 10 } } });
    // @ts-expect-error: misspelled body field
    charter.POST('/modules', { body: { name: 'Contacts', feilds: [] } });
  });

  it('types list items in full without `fields`, and only their key as sure with it', async () => {
    const [full] = (await charter.GET('/modules', { params: { query: { limit: 10 } } })).data?.data ?? [];
    expectTypeOf(full!.name).toEqualTypeOf<string>();
    expectTypeOf(full!).toMatchTypeOf<Schemas['Module']>();
    const [sparse] = (await charter.GET('/modules', { params: { query: { fields: ['id', 'name'] } } })).data?.data ?? [];
    expectTypeOf(sparse!.id).toEqualTypeOf<string>();
    expectTypeOf(sparse!.name).toEqualTypeOf<string | undefined>();
    for await (const record of charter.paginate('/modules/{module_id}/records', { params: { path: { module_id: 'mod_01' } } })) {
      expectTypeOf(record.data).toEqualTypeOf<{ [key: string]: unknown }>();
    }
    for await (const record of charter.paginate('/modules/{module_id}/records', { params: { path: { module_id: 'mod_01' }, query: { fields: ['id'] } } })) {
      expectTypeOf(record.data).toEqualTypeOf<{ [key: string]: unknown } | undefined>();
    }
  });

  it('types `sort` and `fields` from the document’s lists of sortable and selectable fields', () => {
    charter.GET('/modules', { params: { query: { sort: ['-created_at', 'name'], fields: ['id', 'name'] } } });
    charter.paginate('/modules/{module_id}/records', { params: { path: { module_id: 'mod_01' }, query: { sort: ['-updated_at'] } } });
    // @ts-expect-error: "nme" is not sortable
    charter.GET('/modules', { params: { query: { sort: ['nme'] } } });
    // @ts-expect-error: records have no name to sort by
    charter.GET('/modules/{module_id}/records', { params: { path: { module_id: 'mod_01' }, query: { sort: ['name'] } } });
    // @ts-expect-error: "nmae" is not a field
    charter.GET('/modules', { params: { query: { fields: ['id', 'nmae'] } } });
    // @ts-expect-error: a list, not a comma-separated string
    charter.GET('/modules', { params: { query: { fields: 'id,name' } } });
    // @ts-expect-error: "nmae" is not a field, in a walk too
    charter.paginate('/modules', { params: { query: { fields: ['nmae'] } } });
  });

  it('types CharterError.code as the documented codes and the client’s own', () => {
    expectTypeOf<CharterError['code']>().toEqualTypeOf<Schemas['ErrorCode'] | 'connection_error' | 'timeout' | 'invalid_response' | 'http_error'>();
    const code: CharterError['code'] = 'not_found';
    // @ts-expect-error: not a documented code
    const wrong: CharterError['code'] = 'notfound';
    void [code, wrong];
  });

  it('exports each schema of the document under its own name', () => {
    expectTypeOf<Module>().toMatchTypeOf<Schemas['Module']>();
    expectTypeOf<Schemas['Module']>().toMatchTypeOf<Module>();
    expectTypeOf<ApiKey['tier']>().toEqualTypeOf<Schemas['Tier']>();
    expectTypeOf<ErrorCode>().toEqualTypeOf<Schemas['ErrorCode']>();
  });
});
