import { describe, expect, it } from 'vitest';
import { countedServer } from './support/counted-server.ts';
import { call, createModule } from './support/server.ts';

/** What the exposure check costs the database, counted statement by statement (as in round-trips.test.ts). */
const counted = countedServer('Exposure counted');
const { statements } = counted;

/** The statements one request sends, without the batched logs, BEGIN/COMMIT and last_used_at. */
async function statementsOf(request: () => Promise<{ status: number }>, status: number): Promise<string[]> {
  await counted.app.flush();
  statements.length = 0;
  expect((await request()).status).toBe(status);
  return statements.filter(
    (query) => !/^insert into (access_logs|usage_minutes|unauthenticated_requests)|^(begin|commit)$|^update api_keys set last_used_at/i.test(query),
  );
}

const exposureLookups = (sent: string[]) => sent.filter((query) => /^select id, api_enabled, api_methods from modules/.test(query));

describe('what the exposure check costs', () => {
  it('nothing on a record get (one statement reads the module\'s exposure and the record), list, create or update; one lookup on a delete', async () => {
    const module = await createModule(counted.server, [{ name: 'email', type: 'string' }]);
    const records = `/modules/${module.id}/records`;
    const created = await call(counted.server, 'POST', records, { body: { data: { email: 'a@example.com' } } });

    const get = await statementsOf(() => call(counted.server, 'GET', `${records}/${created.body.id}`), 200);
    expect(get).toHaveLength(2); // admission + the handler's one select
    expect(get[1]).toContain('api_methods');

    expect(exposureLookups(await statementsOf(() => call(counted.server, 'GET', records), 200))).toEqual([]);
    expect(exposureLookups(await statementsOf(() => call(counted.server, 'POST', records, { body: { data: { email: 'b@example.com' } } }), 201))).toEqual([]);
    const patch = () => call(counted.server, 'PATCH', `${records}/${created.body.id}`, { body: { data: { email: 'c@example.com' } } });
    expect(exposureLookups(await statementsOf(patch, 200))).toEqual([]);
    expect(exposureLookups(await statementsOf(() => call(counted.server, 'DELETE', `${records}/${created.body.id}`), 204))).toHaveLength(1);
  });
});
