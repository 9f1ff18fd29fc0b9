/** The envelope of every list response (API.md, "Lists"). */
export interface ListPage<Item = unknown> {
  data: Item[];
  /** Pass as `cursor` to get the next page; null on the last page. */
  next_cursor?: string | null;
  has_more?: boolean;
  /** How many items match the filters. */
  total?: number;
}

/** Options of {@link Paginator.toArray}. */
export interface ToArrayOptions {
  /** The most items to collect. Required, so that a list that grows cannot exhaust memory unnoticed. */
  max: number;
}

/**
 * A walk over every item of a list, following `next_cursor` page by page (the next request is the
 * same one with `cursor` set and `page` removed). Each page is one call with the client's retry
 * rules; a page that fails throws its {@link CharterError}, whatever `throwOnError` says.
 *
 * @example
 * for await (const record of charter.paginate('/modules/{module_id}/records', { params: { path: { module_id } } })) {
 *   console.log(record.id);
 * }
 */
export class Paginator<Item, Page extends ListPage<Item> = ListPage<Item>> implements AsyncIterable<Item> {
  readonly #fetchPage: (query: Record<string, unknown>) => Promise<Page>;
  readonly #query: Record<string, unknown>;

  constructor(fetchPage: (query: Record<string, unknown>) => Promise<Page>, query: Record<string, unknown> = {}) {
    this.#fetchPage = fetchPage;
    this.#query = query;
  }

  /** Every page, fetched one at a time as the loop asks for it. */
  async *pages(): AsyncGenerator<Page, void, undefined> {
    let query = this.#query;
    for (;;) {
      const page = await this.#fetchPage(query);
      yield page;
      const cursor = page.next_cursor;
      if (!cursor || page.has_more === false) return;
      // A server that hands back the cursor it was given would otherwise keep this loop going for ever.
      if (cursor === query.cursor) throw new Error(`The list returned the cursor it was given (${cursor}); stopping.`);
      const { page: _page, ...rest } = query;
      query = { ...rest, cursor };
    }
  }

  /** Every item of every page. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Item, void, undefined> {
    for await (const page of this.pages()) yield* page.data;
  }

  /**
   * Collects every item into an array, at most `max` of them. A list with more items than `max`
   * rejects with a `RangeError` (at once when the first page's `total` already says so) instead of
   * returning a silently truncated array; to stop early on purpose, `break` out of a `for await`.
   */
  async toArray({ max }: ToArrayOptions): Promise<Item[]> {
    if (!Number.isInteger(max) || max < 0) throw new RangeError(`toArray needs max, a whole number ≥ 0; got ${max}.`);
    const fromStart = this.#query.page === undefined && this.#query.cursor === undefined;
    const tooMany = (total?: number) =>
      new RangeError(
        `The list has more than ${max} items${total === undefined ? '' : ` (total ${total})`}: raise max, or iterate with for await.`,
      );
    const items: Item[] = [];
    for await (const page of this.pages()) {
      if (fromStart && items.length === 0 && page.total !== undefined && page.total > max) throw tooMany(page.total);
      for (const item of page.data) {
        if (items.length === max) throw tooMany(page.total);
        items.push(item);
      }
    }
    return items;
  }
}
