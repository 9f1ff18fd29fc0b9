import { createHash } from 'node:crypto';
import type { SortKey } from '@charter/contracts';
import type { Queryable } from '@charter/db';
import { canonicalJson } from './canonical-json.ts';
import type { Context } from './context.ts';
import { validationFailed } from './errors.ts';
import { boundInstant, isCalendarDay, isClockTime } from './instants.ts';
import { and, ident, join, q, run, type SqlText } from './sql-text.ts';
import { isStorable } from './storable.ts';

/** What a list handler asks for: the parsed list query plus its resource's SQL pieces. */
export interface ListRequest {
  limit: number;
  page?: number | undefined;
  cursor?: string | undefined;
  sort: SortKey[];
  created_after?: string | undefined;
  created_before?: string | undefined;
  updated_after?: string | undefined;
  updated_before?: string | undefined;
}

export interface ListSource {
  table: string;
  /** The resource's own conditions (workspace, module, filters), ANDed together. */
  where: SqlText[];
  /** Sortable field → its SQL type, for casting cursor values back. */
  sortTypes: Record<string, 'timestamptz' | 'text'>;
  /**
   * For rows that can be large: the integer column holding a row's size in bytes, and the most
   * bytes one page may hold. The page then stops early (with has_more and next_cursor) before it
   * passes the budget, always holding at least one row.
   */
  pageBytes?: { column: string; budget: number };
  /**
   * The row the list belongs to (a record list's module), read in the same statement as the page
   * and its total, so that checking it costs no round trip of its own.
   */
  parent?: {
    /** A select of at most one row, e.g. the module if it is in the caller's workspace. */
    row: SqlText;
    /**
     * Called with that row's columns, or undefined when there is none, before the page is
     * served; throws to refuse the list (404 for no parent, 422 for input the parent rules out).
     */
    check: (row: Record<string, unknown> | undefined) => void;
  };
  /**
   * The total of the list under `where` alone, kept with the rows instead of counted: a scalar
   * subquery. It serves requests without time bounds; with them, matching rows are counted. A
   * resource gives it only when its `where` is what the kept count counts (no filter or search).
   */
  keptTotal?: SqlText;
}

export interface ListPage<RowType> {
  rows: RowType[];
  total: number;
  limit: number;
  page: number | null;
  has_more: boolean;
  next_cursor: string | null;
}

/**
 * A cursor is plain base64url JSON, not signed. What makes it safe is that every value in it is
 * checked before it reaches SQL (a forged cursor can only start a walk at a position of the
 * caller's own choosing, in the caller's own rows, which `page` allows anyway); what binds it to
 * its list is `l`, a digest of the list's identity. An HMAC would add a secret that every process
 * must share and rotate, and protect nothing more than these two checks do.
 */
interface CursorState {
  /** The sort the walk was started with: a cursor only continues the walk it came from. */
  s: string;
  /** The list the walk runs over: see listIdentity. */
  l: string;
  /** The last row's sort values, as text, then its id. */
  v: string[];
}

const sortString = (sort: SortKey[]) => sort.map((key) => (key.direction === 'desc' ? '-' : '') + key.field).join(',');

/** Query parameters that move through a list or shape its items, rather than choose the list. */
const PAGING_PARAMETERS = new Set(['limit', 'page', 'cursor', 'sort', 'fields']);

/**
 * Digest of what chooses a list: its table, its workspace and every other input (module, filters,
 * search, time bounds, key, status…), so that a parameter added to a list later binds cursors too.
 */
function listIdentity(table: string, owner: string | undefined, request: object): string {
  const chosen = Object.entries(request).filter(([name, value]) => !PAGING_PARAMETERS.has(name) && value !== undefined);
  return createHash('sha256')
    .update(canonicalJson([table, owner ?? null, Object.fromEntries(chosen)]))
    .digest('base64url')
    .slice(0, 22);
}

function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

/** How PostgreSQL writes a timestamptz as text: what a cursor made by this server holds. */
const TIMESTAMPTZ_TEXT = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::(\d{2}))?(?::(\d{2}))?$/;

/**
 * Whether text is a timestamptz PostgreSQL's input takes: a day that exists (the pattern alone
 * lets month 13 or February 30 through, and PostgreSQL then fails the whole query), a time of
 * day, and an offset within its ±15:59:59.
 */
function isTimestamptzText(value: string): boolean {
  const match = TIMESTAMPTZ_TEXT.exec(value);
  if (!match) return false;
  const [, year, month, day, hour, minute, second, offsetHours, offsetMinutes = '0', offsetSeconds = '0'] = match;
  return (
    isCalendarDay(Number(year), Number(month), Number(day)) &&
    isClockTime(Number(hour), Number(minute), Number(second)) &&
    Number(offsetHours) <= 15 &&
    Number(offsetMinutes) <= 59 &&
    Number(offsetSeconds) <= 59
  );
}

const INVALID_CURSOR = 'The cursor is not valid. Pass the next_cursor of a previous page unchanged.';

function decodeCursor(cursor: string, sort: SortKey[], identity: string, keys: SortKey[], types: ListSource['sortTypes']): CursorState {
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    state = undefined;
  }
  const shaped =
    typeof state === 'object' &&
    state !== null &&
    typeof (state as CursorState).s === 'string' &&
    typeof (state as CursorState).l === 'string' &&
    Array.isArray((state as CursorState).v);
  if (!shaped) throw validationFailed({ cursor: [INVALID_CURSOR] });
  const { s, l, v } = state as CursorState;
  if (s !== sortString(sort)) {
    const message = `This cursor continues a walk sorted by "${isStorable(s) ? s.slice(0, 200) : '?'}"; pass the same sort with it.`;
    throw validationFailed({ sort: [message], cursor: [message] });
  }
  if (l !== identity) {
    throw validationFailed({
      cursor: ['This cursor belongs to another list (another resource, module, workspace, filter, search or time bound). Pass it only with the query whose page returned it.'],
    });
  }
  const valid =
    v.length === keys.length &&
    // Each value goes back into SQL: a forged cursor must fail here, not in PostgreSQL.
    v.every(
      (value, index) =>
        typeof value === 'string' &&
        isStorable(value) &&
        (types[(keys[index] as SortKey).field] !== 'timestamptz' || isTimestamptzText(value)),
    );
  if (!valid) throw validationFailed({ cursor: [INVALID_CURSOR] });
  return state as CursorState;
}

/**
 * One page of a list, by page number or by keyset cursor. The sort always ends with `id`, so
 * the order is total and a cursor walk visits each row that existed when it began exactly once,
 * whatever is inserted or deleted meanwhile. The page, its total and its parent are read in one
 * statement: one round trip, and a total that counts the very rows the page was taken from.
 */
export async function listPage<RowType extends Record<string, unknown>>(
  sql: Queryable,
  source: ListSource,
  request: ListRequest,
  /** The workspace whose list this is, so that its cursors serve no other. */
  owner?: string,
): Promise<ListPage<RowType>> {
  // A bad page or cursor is refused only once the parent has been checked, as if it had been read
  // first: a list of a module that is not there is a 404, whatever its cursor.
  let refusal: unknown;
  if (request.page !== undefined && request.cursor !== undefined) {
    refusal = validationFailed({ cursor: ['Use either page or cursor, not both.'] });
  }
  // The order ends at `id`, which is unique: keys after it could never matter, and without it
  // `id` is appended so that the order is total.
  const idAt = request.sort.findIndex((key) => key.field === 'id');
  const keys: SortKey[] =
    idAt >= 0 ? request.sort.slice(0, idAt + 1) : [...request.sort, { field: 'id', direction: request.sort[0]?.direction ?? 'asc' }];

  const timeBounds: SqlText[] = [];
  if (request.created_after) timeBounds.push(q`created_at > ${boundInstant(request.created_after)}::text::timestamptz`);
  if (request.created_before) timeBounds.push(q`created_at < ${boundInstant(request.created_before)}::text::timestamptz`);
  if (request.updated_after) timeBounds.push(q`updated_at > ${boundInstant(request.updated_after)}::text::timestamptz`);
  if (request.updated_before) timeBounds.push(q`updated_at < ${boundInstant(request.updated_before)}::text::timestamptz`);
  const conditions: SqlText[] = [...source.where, ...timeBounds];

  const identity = listIdentity(source.table, owner, request);
  const pageConditions = [...conditions];
  if (request.cursor !== undefined && refusal === undefined) {
    try {
      const state = decodeCursor(request.cursor, request.sort, identity, keys, source.sortTypes);
      pageConditions.push(after(keys, state.v, source.sortTypes));
    } catch (error) {
      refusal = error;
    }
  }
  if (refusal !== undefined) {
    if (source.parent) {
      const [found] = await run<{ _parent: Record<string, unknown> }>(sql, q`select to_jsonb(parent) as _parent from (${source.parent.row}) as parent`);
      source.parent.check(found?._parent);
    }
    throw refusal;
  }
  const offset = request.page !== undefined ? (request.page - 1) * request.limit : 0;
  // The kept total counts `where` alone: a time bound needs the matching rows counted.
  const counted = source.keptTotal && timeBounds.length === 0 ? source.keptTotal : q`(select count(*)::int from ${ident(source.table)} where ${and(conditions)})`;
  const statement = pageStatement(source, keys, pageConditions, counted, request.limit + 1, offset);
  const joined = await run<Record<string, unknown>>(sql, statement);
  const first = joined[0];
  source.parent?.check(first ? (joined.find((row) => row._parent !== null)?._parent as Record<string, unknown>) : undefined);
  const total = Number(first?._total ?? 0);
  // The rows keep the statement's own columns (_in_page, _cursor_0…): every list maps its rows
  // to wire objects field by field, and deleting properties would slow every later read of them.
  const rows = joined.filter((row) => row._in_page === true);

  const budget = source.pageBytes;
  let kept = Math.min(rows.length, request.limit);
  if (budget) {
    const fits = (row: Record<string, unknown>) => Number(row._bytes_before) + Number(row[budget.column]) <= budget.budget;
    const firstOver = rows.findIndex((row, index) => index > 0 && !fits(row));
    if (firstOver >= 0) kept = Math.min(kept, firstOver);
  }
  const hasMore = rows.length > kept;
  const pageRows = rows.slice(0, kept);
  const last = pageRows.at(-1);
  const nextCursor =
    hasMore && last ? encodeCursor({ s: sortString(request.sort), l: identity, v: keys.map((_, index) => String(last[`_cursor_${index}`])) }) : null;

  return {
    rows: pageRows as RowType[],
    total,
    limit: request.limit,
    page: request.cursor !== undefined ? null : (request.page ?? 1),
    has_more: hasMore,
    next_cursor: nextCursor,
  };
}

/**
 * One statement: the parent (no row, no page is read), the total, and the page joined to them, one
 * row per item (or one row of nulls for an empty page).
 */
function pageStatement(source: ListSource, keys: SortKey[], pageConditions: SqlText[], total: SqlText, rows: number, offset: number): SqlText {
  const table = ident(source.table);
  const order = join(
    keys.map((key) => q`${ident(key.field)} ${key.direction === 'desc' ? DESC : ASC}`),
    ', ',
  );
  const cursorColumns = join(
    keys.map((key, index) => q`${ident(key.field)}::text as ${ident(`_cursor_${index}`)}`),
    ', ',
  );
  const select = q`
      select *, ${cursorColumns}
      from ${table}
      where ${and(pageConditions)}
      order by ${order}`;
  const budget = source.pageBytes;
  const page = budget
    ? // The running total of the rows before each one is known before any row's data is read:
      // rows that start past the budget are never sent. One over it still comes, to tell has_more.
      q`
        select * from (
          select *, coalesce(sum(${ident(budget.column)}) over (order by ${order} rows between unbounded preceding and 1 preceding), 0) as _bytes_before
          from (${select} limit ${rows} offset ${offset}) as candidates
        ) as sized
        where _bytes_before < ${budget.budget}`
    : q`${select} limit ${rows} offset ${offset}`;
  const head = source.parent
    ? q`select to_jsonb(parent) as _parent, ${total} as _total from (${source.parent.row}) as parent`
    : q`select null::jsonb as _parent, ${total} as _total`;
  // The parent goes out on one row only (the first of the page, or the row of nulls): every row
  // carrying it would have it parsed again for each item.
  return q`
    select case when page._n > 1 then null else head._parent end as _parent, head._total, page.*
    from (${head}) as head
    left join lateral (select true as _in_page, row_number() over () as _n, * from (${page}) as page) as page on true
    order by ${order}`;
}

const ASC = q`asc`;
const DESC = q`desc`;

/** Rows strictly after `values` in the order `keys`: (k1 > v1) or (k1 = v1 and k2 > v2) or … */
function after(keys: SortKey[], values: string[], types: Record<string, 'timestamptz' | 'text'>): SqlText {
  const typed = (index: number) => {
    const key = keys[index] as SortKey;
    // Through text: postgres.js would serialise a timestamptz parameter via Date, dropping microseconds.
    return types[key.field] === 'timestamptz' ? q`${values[index] ?? null}::text::timestamptz` : q`${values[index] ?? null}::text`;
  };
  const alternatives = keys.map((key, index) => {
    const equalities = keys.slice(0, index).map((prior, priorIndex) => q`${ident(prior.field)} = ${typed(priorIndex)}`);
    const beyond = key.direction === 'desc' ? q`${ident(key.field)} < ${typed(index)}` : q`${ident(key.field)} > ${typed(index)}`;
    return q`(${and([...equalities, beyond])})`;
  });
  return q`(${join(alternatives, ' or ')})`;
}

/**
 * A list endpoint's whole answer: the page, its items mapped to the wire, and the hints the HTTP
 * edge needs (sparse fieldset, next cursor for the Link header).
 */
export async function servePage<RowType extends Record<string, unknown>, Item>(
  ctx: Context,
  source: ListSource,
  request: ListRequest & { fields?: readonly string[] | undefined },
  toItem: (row: RowType) => Item,
) {
  const { rows, ...envelope } = await listPage<RowType>(ctx.sql, source, request, ctx.principal?.workspaceId);
  ctx.listing.fields = request.fields;
  ctx.listing.nextCursor = envelope.next_cursor;
  return { ...envelope, data: rows.map(toItem) };
}
