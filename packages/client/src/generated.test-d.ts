import { describe, expectTypeOf, it } from 'vitest';
import { Charter } from './client.ts';
import type { components } from './generated/schema.ts';

// The default client is typed by the API's own document (src/generated/schema.ts, from `pnpm generate`).
const charter = new Charter({ baseUrl: 'http://127.0.0.1:3000/api/v1', apiKey: 'sk_test_x' });
type Schemas = components['schemas'];

describe('the API’s own document', () => {
  it('types modules and records end to end', async () => {
    expectTypeOf((await charter.GET('/modules')).data).toEqualTypeOf<Schemas['ModuleList'] | undefined>();
    expectTypeOf(charter.paginate('/modules/{module_id}/records', { params: { path: { module_id: 'mod_01' } } })).toMatchTypeOf<
      AsyncIterable<Schemas['RecordListItem']>
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
});
