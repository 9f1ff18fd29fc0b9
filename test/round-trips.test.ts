import { createWorkspace } from '@charter/server';
import { describe, expect, it } from 'vitest';
import { countedServer } from './support/counted-server.ts';
import { type ApiResponse, call, createModule } from './support/server.ts';

/** What each request costs the database, counted statement by statement. */
const counted = countedServer('Counted');
const { statements } = counted;

/**
 * The statements one request sends, leaving out what is off its path: the access log's batched
 * writes, `last_used_at`, written at most once a minute and not awaited (its own row in the
 * README's table), and rate-limit tokens given back by an idle key, which may land in any
 * request's window.
 */
async function statementsOf(request: () => Promise<unknown>): Promise<string[]> {
  await counted.app.flush();
  statements.length = 0;
  await request();
  return statements.filter(
    (query) =>
      !/^insert into (access_logs|usage_minutes|unauthenticated_requests)|^(begin|commit)$|^update api_keys set last_used_at|^update rate_limit_counters set count = greatest/i.test(
        query,
      ),
  );
}

describe('database round trips per request', () => {
  it('authentication and rate limiting together cost one statement', async () => {
    const module = await createModule(counted.server, []);
    await call(counted.server, 'GET', '/modules');
    const sent = await statementsOf(() => call(counted.server, 'GET', `/modules/${module.id}`));
    const admission = sent.filter((query) => query.includes('api_key_secrets'));
    expect(admission).toHaveLength(1);
    expect(admission[0]).toContain('rate_limit_counters');
    expect(sent).toHaveLength(2); // admission + the handler's one select
  });

  it('a record create reads its module, inserts and reads the subscribed endpoints in one statement', async () => {
    const module = await createModule(counted.server, [{ name: 'title', type: 'string' }]);
    const sent = await statementsOf(async () => {
      const created = await call(counted.server, 'POST', `/modules/${module.id}/records`, { body: { data: { title: 'One' } } });
      expect(created.status).toBe(201);
    });
    // admission, then the module with the insert and the endpoints subscribed to record.created
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatch(/from modules/);
    expect(sent[1]).toMatch(/insert into records/);
    expect(sent[1]).toMatch(/webhook_endpoints/);
  });

  it('a list page is one statement after admission: a record list checks its module in it too', async () => {
    const module = await createModule(counted.server, [{ name: 'title', type: 'string' }]);
    await call(counted.server, 'POST', `/modules/${module.id}/records`, { body: { data: { title: 'One' } } });
    for (const path of [
      `/modules/${module.id}/records?limit=25`,
      `/modules/${module.id}/records?filter=title:One&search=on&created_after=2020-01-01T00:00:00Z`,
      '/modules',
    ]) {
      const sent = await statementsOf(async () => expect((await call(counted.server, 'GET', path)).status).toBe(200));
      expect(sent, path).toHaveLength(2); // admission + the page with its total
    }
    const [, list] = await statementsOf(() => call(counted.server, 'GET', `/modules/${module.id}/records`));
    expect(list).toMatch(/from modules/);
    expect(list).toMatch(/from "records"/);
  });

  it("a record list of another workspace's module, or none, is a 404 in one statement; an unknown filter field a 422", async () => {
    const other = { url: counted.server.url, key: (await createWorkspace(counted.database.sql, { name: 'Other' })).key };
    const theirs = await createModule(other, [{ name: 'title', type: 'string' }]);
    const mine = await createModule(counted.server, [{ name: 'title', type: 'string' }]);
    for (const path of [
      `/modules/${theirs.id}/records`,
      `/modules/mod_${'0'.repeat(26)}/records?filter=title:x`,
      // A bad cursor is refused only once the module is known to be there: before, a 404.
      `/modules/${theirs.id}/records?cursor=bm90IGEgY3Vyc29y`,
    ]) {
      let status = 0;
      const sent = await statementsOf(async () => {
        status = (await call(counted.server, 'GET', path)).status;
      });
      expect(status, path).toBe(404);
      expect(sent, path).toHaveLength(2);
    }
    let refused: ApiResponse | undefined;
    const sent = await statementsOf(async () => {
      refused = await call(counted.server, 'GET', `/modules/${mine.id}/records?filter=nope:1`);
    });
    expect(refused?.status).toBe(422);
    expect(Object.keys(refused?.body.errors)).toEqual(['filter[nope]']);
    expect(sent).toHaveLength(2);
  });

  it('filters and search written without the field types answer as typed ones did, in one statement', async () => {
    const module = await createModule(counted.server, [
      { name: 'code', type: 'string' },
      { name: 'rank', type: 'number' },
      { name: 'open', type: 'boolean' },
    ]);
    const numbersOnly = await createModule(counted.server, [{ name: 'rank', type: 'number' }]);
    for (const data of [{ code: '1', rank: 2, open: true }, { code: 'true', rank: 1, open: false }, { code: '2', rank: 1 }]) {
      expect((await call(counted.server, 'POST', `/modules/${module.id}/records`, { body: { data } })).status).toBe(201);
    }
    expect((await call(counted.server, 'POST', `/modules/${numbersOnly.id}/records`, { body: { data: { rank: 11 } } })).status).toBe(201);
    const cases: [string, number, number | undefined][] = [
      [`/modules/${module.id}/records?filter=code:1`, 200, 1], // the string "1", not the number 1 of a rank
      [`/modules/${module.id}/records?filter=rank:1`, 200, 2],
      [`/modules/${module.id}/records?filter=code:true`, 200, 1], // the string "true", not a boolean
      [`/modules/${module.id}/records?filter=open:true&filter=rank:2`, 200, 1],
      [`/modules/${module.id}/records?filter=rank:high`, 422, undefined],
      [`/modules/${numbersOnly.id}/records?search=1`, 200, 0], // no string field to search
    ];
    for (const [path, status, total] of cases) {
      let answer: ApiResponse | undefined;
      const sent = await statementsOf(async () => {
        answer = await call(counted.server, 'GET', path);
      });
      expect(answer?.status, path).toBe(status);
      if (total !== undefined) expect(answer?.body.total, path).toBe(total);
      expect(sent, path).toHaveLength(2);
    }
  });

  it('an unknown route or malformed body still costs only the admission', async () => {
    expect(await statementsOf(() => call(counted.server, 'GET', '/nowhere'))).toHaveLength(1);
    const malformed = await statementsOf(() =>
      call(counted.server, 'POST', '/modules', { rawBody: '{', headers: { 'content-type': 'application/json' } }),
    );
    expect(malformed).toHaveLength(1);
  });

  it('a malformed key costs one address-counter statement and no key lookup', async () => {
    const sent = await statementsOf(() => call(counted.server, 'GET', '/modules', { key: 'sk_live_tooShort' }));
    expect(sent).toHaveLength(1);
    expect(sent[0]).toContain("rate_limit_counters");
    expect(sent[0]).not.toContain('api_key_secrets');
  });
});
