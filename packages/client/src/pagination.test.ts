import { describe, expect, it } from 'vitest';
import type { components, paths } from '../test/fixtures/schema.ts';
import { API_KEY, BASE_URL, json, problem, type Step, scriptedFetch } from '../test/helpers.ts';
import { Charter } from './client.ts';
import { NotFoundError } from './errors.ts';

type Record = components['schemas']['Record'];
const record = (n: number): Record => ({
  id: `rec_${n}`,
  module_id: 'mod_01',
  data: { n },
  created_at: '2030-01-01T00:00:00.000Z',
  updated_at: '2030-01-01T00:00:00.000Z',
});
const listPage = (ids: number[], next: string | null, total = 5, page: number | null = null) =>
  json(200, { data: ids.map(record), total, limit: 2, page, has_more: next !== null, next_cursor: next });

function charter(steps: Step[]) {
  const script = scriptedFetch(steps);
  return { client: new Charter<paths>({ baseUrl: BASE_URL, apiKey: API_KEY, fetch: script.fetch, baseDelayMs: 1 }), sent: script.sent };
}
const records = (client: Charter<paths>, query: paths['/modules/{module_id}/records']['get']['parameters']['query'] = {}) =>
  client.paginate('/modules/{module_id}/records', { params: { path: { module_id: 'mod_01' }, query } });

describe('pagination', () => {
  it('iterates every item, following next_cursor with the same query and no page', async () => {
    const { client, sent } = charter([listPage([1, 2], 'c2', 5, 1), listPage([3, 4], 'c3'), listPage([5], null)]);
    const ids: string[] = [];
    for await (const item of records(client, { limit: 2, page: 1, sort: ['name'] })) ids.push(item.id);
    expect(ids).toEqual(['rec_1', 'rec_2', 'rec_3', 'rec_4', 'rec_5']);
    expect(sent.map((s) => s.request.url.replace(BASE_URL, ''))).toEqual([
      '/modules/mod_01/records?limit=2&page=1&sort=name',
      '/modules/mod_01/records?limit=2&sort=name&cursor=c2',
      '/modules/mod_01/records?limit=2&sort=name&cursor=c3',
    ]);
  });

  it('iterates pages', async () => {
    const { client } = charter([listPage([1, 2], 'c2'), listPage([3], null, 3)]);
    const pages = [];
    for await (const page of records(client).pages()) pages.push(page.data.length);
    expect(pages).toEqual([2, 1]);
  });

  it('retries a page that fails mid-walk, then carries on', async () => {
    const { client, sent } = charter([listPage([1, 2], 'c2'), problem(503, 'service_unavailable'), listPage([3, 4], 'c3'), listPage([5], null)]);
    const items = await records(client).toArray({ max: 10 });
    expect(items.map((item) => item.id)).toEqual(['rec_1', 'rec_2', 'rec_3', 'rec_4', 'rec_5']);
    expect(sent.map((s) => new URL(s.request.url).searchParams.get('cursor'))).toEqual([null, 'c2', 'c2', 'c3']);
  });

  it('throws the page’s error when a page fails for good', async () => {
    const { client } = charter([listPage([1, 2], 'c2'), problem(404, 'not_found')]);
    const seen: string[] = [];
    const walk = async () => {
      for await (const item of records(client)) seen.push(item.id);
    };
    await expect(walk()).rejects.toBeInstanceOf(NotFoundError);
    expect(seen).toEqual(['rec_1', 'rec_2']);
  });

  it('fetches no further than the loop asks', async () => {
    const { client, sent } = charter([listPage([1, 2], 'c2'), listPage([3, 4], 'c3')]);
    for await (const item of records(client)) if (item.id === 'rec_2') break;
    expect(sent).toHaveLength(1);
  });

  it('stops rather than loop when the server repeats a cursor', async () => {
    const { client } = charter([listPage([1], 'c2'), listPage([2], 'c2')]);
    await expect(records(client).toArray({ max: 10 })).rejects.toThrow(/cursor it was given/);
  });

  describe('toArray', () => {
    it('collects every item up to max', async () => {
      const { client } = charter([listPage([1, 2], 'c2', 3), listPage([3], null, 3)]);
      expect(await records(client).toArray({ max: 3 })).toHaveLength(3);
    });

    it('rejects at once when the first page’s total exceeds max', async () => {
      const { client, sent } = charter([listPage([1, 2], 'c2', 248)]);
      await expect(records(client).toArray({ max: 100 })).rejects.toThrow(new RangeError('The list has more than 100 items (total 248): raise max, or iterate with for await.'));
      expect(sent).toHaveLength(1);
    });

    it('rejects when the walk finds more items than max, even if total said otherwise', async () => {
      const { client, sent } = charter([listPage([1, 2], 'c2', 3), listPage([3, 4], 'c3', 3)]);
      await expect(records(client).toArray({ max: 3 })).rejects.toBeInstanceOf(RangeError);
      expect(sent).toHaveLength(2);
    });

    it('demands a whole-number max', async () => {
      const { client, sent } = charter([]);
      await expect(records(client).toArray({ max: Number.POSITIVE_INFINITY })).rejects.toBeInstanceOf(RangeError);
      await expect(records(client).toArray({ max: -1 })).rejects.toBeInstanceOf(RangeError);
      expect(sent).toHaveLength(0);
    });
  });
});
