import { MAX_LIST_NAMES } from '@charter/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiResponse, call, createModule, startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let moduleId: string;

beforeAll(async () => {
  server = await startTestServer();
  moduleId = (
    await createModule(server, [
      { name: 'title', type: 'string' },
      { name: 'rank', type: 'number' },
      { name: 'open', type: 'boolean' },
      { name: 'meta', type: 'json' },
    ])
  ).id;
  // 30 records with distinct titles; inserted one by one so created_at increases.
  for (let i = 0; i < 30; i++) {
    const response = await call(server, 'POST', `/modules/${moduleId}/records`, {
      body: { data: { title: `Item ${String(i).padStart(2, '0')}${i % 10 === 0 ? ' special' : ''}`, rank: i % 3, open: i % 2 === 0 } },
    });
    expect(response.status).toBe(201);
  }
});
afterAll(() => server.close());

const path = () => `/modules/${moduleId}/records`;
const titles = (body: { data: { data: { title: string } }[] }) => body.data.map((record) => record.data.title);

describe('lists', () => {
  it('pages with limit and page, newest first by default', async () => {
    const first = await call(server, 'GET', `${path()}?limit=10`);
    expect(first.body).toMatchObject({ total: 30, limit: 10, page: 1, has_more: true });
    expect(titles(first.body)[0]).toBe('Item 29');
    const third = await call(server, 'GET', `${path()}?limit=10&page=3`);
    expect(third.body).toMatchObject({ page: 3, has_more: false, next_cursor: null });
    expect(titles(third.body).at(-1)).toBe('Item 00 special');
    expect(third.headers.get('link')).toBeNull();
  });

  it('defaults to 25 and refuses more than 100', async () => {
    expect((await call(server, 'GET', path())).body.data).toHaveLength(25);
    const tooMany = await call(server, 'GET', `${path()}?limit=101`);
    expect(tooMany.status).toBe(422);
    expect(Object.keys(tooMany.body.errors)).toEqual(['limit']);
  });

  it('follows next_cursor and the Link header to the end', async () => {
    const seen: string[] = [];
    let next: string | null = `${path()}?limit=7&sort=created_at`;
    let pages = 0;
    while (next) {
      const response: ApiResponse = await call(server, 'GET', next);
      expect(response.status).toBe(200);
      seen.push(...titles(response.body));
      const link: string | null = response.headers.get('link');
      if (response.body.next_cursor) {
        expect(link).toMatch(/^<\/api\/v1\/modules\/mod_[0-9a-z]+\/records\?limit=7&sort=created_at&cursor=[^>]+>; rel="next"$/);
        next = (link as string).slice('</api/v1'.length, link!.indexOf('>'));
      } else {
        expect(link).toBeNull();
        next = null;
      }
      pages++;
    }
    expect(pages).toBe(5);
    expect(seen).toHaveLength(30);
    expect(seen[0]).toBe('Item 00 special');
    expect(new Set(seen).size).toBe(30);
  });

  it('sorts on several keys and refuses unknown sort fields', async () => {
    const byId = await call(server, 'GET', `${path()}?sort=id&limit=100`);
    const ids = byId.body.data.map((r: { id: string }) => r.id);
    expect(ids).toEqual([...ids].sort());
    const unknown = await call(server, 'GET', `${path()}?sort=-colour`);
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors.sort[0]).toContain('Unknown sort field "colour"');
  });

  it('returns sparse fieldsets and refuses unknown fields', async () => {
    const sparse = await call(server, 'GET', `${path()}?fields=data&limit=2`);
    expect(sparse.status).toBe(200);
    expect(Object.keys(sparse.body.data[0]).sort()).toEqual(['data', 'id']);
    const unknown = await call(server, 'GET', `${path()}?fields=id,secret`);
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors.fields[0]).toContain('Unknown field "secret"');
  });

  it('keeps every list\'s sort and fields to the maxItems its document states, repeats counted', async () => {
    const document = (await call(server, 'GET', '/openapi.json')).body;
    const lists = Object.entries(document.paths as Record<string, { get?: { parameters?: any[] } }>).filter(([, item]) =>
      item.get?.parameters?.some((parameter) => parameter.name === 'fields'),
    );
    expect(lists.length).toBeGreaterThanOrEqual(6);
    for (const [template, item] of lists) {
      // A path parameter other than a module's takes a well-formed id that names nothing: the bound
      // is checked before any lookup, so a list at it gets past validation (200 or 404), over it 422.
      const listPath = template.replace('{module_id}', moduleId).replace(/\{[a-z_]+\}/, 'whk_00000000000000000000000000');
      for (const name of ['sort', 'fields']) {
        const schema = item.get?.parameters?.find((parameter) => parameter.name === name).schema;
        const max = schema.maxItems as number;
        expect(max, `${template} ${name}`).toBe(MAX_LIST_NAMES);
        // Every name the list may hold fits, each once.
        expect(name === 'sort' ? schema.items.enum.length / 2 : schema.items.enum.length).toBeLessThanOrEqual(max);
        // The same short name over and over: short as text, long as a list.
        const one = name === 'sort' ? schema.items.enum.at(-1) : schema.items.enum[0];
        const atBound = await call(server, 'GET', `${listPath}?${name}=${Array(max).fill(one).join(',')}`);
        expect([200, 404], `${template} ${name} × ${max}: ${atBound.text}`).toContain(atBound.status);
        const over = await call(server, 'GET', `${listPath}?${name}=${Array(max + 1).fill(one).join(',')}`);
        expect(over.status, `${template} ${name} × ${max + 1}`).toBe(422);
        expect(over.body.errors[name][0]).toContain(`At most ${max}`);
        const thousand = await call(server, 'GET', `${listPath}?${name}=${Array(1000).fill(one).join(',')}`);
        expect(thousand.status).toBe(422);
      }
    }
  });

  it('filters on record fields by type, and refuses unknown or unfilterable fields', async () => {
    const rank = await call(server, 'GET', `${path()}?filter[rank]=1&limit=100`);
    expect(rank.body.total).toBe(10);
    const both = await call(server, 'GET', `${path()}?filter[rank]=0&filter[open]=true&limit=100`);
    expect(both.body.total).toBe(5);
    expect(both.body.data.every((r: { data: { rank: number; open: boolean } }) => r.data.rank === 0 && r.data.open)).toBe(true);
    const unknown = await call(server, 'GET', `${path()}?filter[colour]=red`);
    expect(unknown.status).toBe(422);
    expect(Object.keys(unknown.body.errors)).toEqual(['filter[colour]']);
    const wrongType = await call(server, 'GET', `${path()}?filter[rank]=high`);
    expect(wrongType.status).toBe(422);
    const json = await call(server, 'GET', `${path()}?filter[meta]=x`);
    expect(json.status).toBe(422);
  });

  it('takes filters as filter=<field>:<value> too, the form generators send for the documented array', async () => {
    const rank = await call(server, 'GET', `${path()}?filter=rank:1&limit=100`);
    expect(rank.status, rank.text).toBe(200);
    expect(rank.body.total).toBe(10);
    const both = await call(server, 'GET', `${path()}?filter=rank:0&filter=${encodeURIComponent('open:true')}&limit=100`);
    expect(both.body.total).toBe(5);
    const mixed = await call(server, 'GET', `${path()}?filter=rank:0&filter[open]=true&limit=100`);
    expect(mixed.body.total).toBe(5);
    // Split at the first colon: a value may hold colons; the field must not be empty.
    const colon = await call(server, 'GET', `${path()}?filter=${encodeURIComponent('rank:1:2')}`);
    expect(colon.status).toBe(422);
    expect(Object.keys(colon.body.errors)).toEqual(['filter[rank]']);
    for (const bad of ['rank', ':1', '']) {
      const response = await call(server, 'GET', `${path()}?filter=${encodeURIComponent(bad)}`);
      expect(response.status, bad).toBe(422);
      expect(Object.keys(response.body.errors), bad).toEqual(['filter']);
    }
    // A field named twice must match both values, whichever forms carry them (the same value twice is once).
    const twice = await call(server, 'GET', `${path()}?filter=rank:0&filter[rank]=1`);
    expect(twice.status, twice.text).toBe(200);
    expect(twice.body.total).toBe(0);
    const same = await call(server, 'GET', `${path()}?filter=rank:1&filter=rank:1&limit=100`);
    expect(same.body.total).toBe(10);
    const badSecond = await call(server, 'GET', `${path()}?filter=rank:1&filter=rank:high`);
    expect(badSecond.status).toBe(422);
    expect(Object.keys(badSecond.body.errors)).toEqual(['filter[rank]']);
  });

  it('searches string fields, case-insensitively, treating % and _ literally', async () => {
    const found = await call(server, 'GET', `${path()}?search=SPECIAL`);
    expect(found.body.total).toBe(3);
    expect((await call(server, 'GET', `${path()}?search=%25`)).body.total).toBe(0);
  });

  it('filters on created and updated times', async () => {
    const all = await call(server, 'GET', `${path()}?sort=created_at&limit=100`);
    const tenth = all.body.data[9].created_at as string;
    const after = await call(server, 'GET', `${path()}?created_after=${encodeURIComponent(tenth)}&limit=100`);
    expect(after.body.total).toBeLessThanOrEqual(20);
    expect(after.body.data.every((r: { created_at: string }) => r.created_at > tenth)).toBe(true);
    const future = await call(server, 'GET', `${path()}?updated_after=2999-01-01T00:00:00Z`);
    expect(future.body.total).toBe(0);
    const bad = await call(server, 'GET', `${path()}?created_before=yesterday`);
    expect(bad.status).toBe(422);
  });

  it('refuses page and cursor together, a forged cursor, and a cursor under another sort', async () => {
    const first = await call(server, 'GET', `${path()}?limit=5`);
    const cursor = first.body.next_cursor as string;
    expect((await call(server, 'GET', `${path()}?limit=5&page=2&cursor=${cursor}`)).status).toBe(422);
    expect((await call(server, 'GET', `${path()}?cursor=not-a-cursor`)).status).toBe(422);
    const otherSort = await call(server, 'GET', `${path()}?cursor=${cursor}&sort=id`);
    expect(otherSort.status).toBe(422);
    expect(otherSort.body.errors.sort[0]).toContain('-created_at');
  });

  it('lists modules with search and name sort', async () => {
    await call(server, 'POST', '/modules', { body: { name: 'Zebra list' } });
    await call(server, 'POST', '/modules', { body: { name: 'Aardvark list' } });
    const sorted = await call(server, 'GET', '/modules?sort=name&search=list');
    expect(sorted.body.data.map((m: { name: string }) => m.name)).toEqual(['Aardvark list', 'Zebra list']);
  });
});
