import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorNotice } from './components.tsx';

/** One page of a cursor-paged list, as the API answers it. */
export interface ListPage<T> {
  data: T[];
  total: number;
  next_cursor?: string | null;
}

/** What the paging controls need of a list. */
export interface PagedList<T> {
  page: { data: T[]; total: number; next: string | null } | null;
  error: unknown;
  canGoBack: boolean;
  next: () => void;
  previous: () => void;
}

/**
 * A cursor-paged list under a query: the page at the current cursor is loaded whenever the query
 * is applied, the cursor moves or `reload` is called. `apply` goes back to the first page; the
 * cursors already seen make the way back.
 */
export function usePagedList<Q extends object, T>(
  initial: Q,
  load: (query: Q, cursor: string | undefined) => Promise<ListPage<T>>,
): PagedList<T> & { apply: (next: Q) => void; reload: () => void } {
  const [query, setQuery] = useState<Q>(initial);
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [page, setPage] = useState<PagedList<T>['page']>(null);
  const [error, setError] = useState<unknown>(null);
  const [loads, setLoads] = useState(0);
  const cursor = cursors[cursors.length - 1];

  useEffect(() => {
    let live = true;
    setError(null);
    load(query, cursor)
      .then((answer) => {
        if (live) setPage({ data: answer.data, total: answer.total, next: answer.next_cursor ?? null });
      })
      .catch((caught) => {
        if (!live) return;
        setPage(null);
        setError(caught);
      });
    return () => {
      live = false;
    };
  }, [query, cursor, loads]);

  return {
    page,
    error,
    /** Loads the first page under `next` (a copy: applying the same filters again reloads them). */
    apply: (next: Q) => {
      setCursors([undefined]);
      setQuery({ ...next });
      setLoads((n) => n + 1);
    },
    reload: () => setLoads((n) => n + 1),
    canGoBack: cursors.length > 1,
    next: () => {
      const after = page?.next;
      if (after) setCursors((list) => [...list, after]);
    },
    previous: () => setCursors((list) => (list.length > 1 ? list.slice(0, -1) : list)),
  };
}

/**
 * Every item of a list (the keys, the endpoints), loaded again on `reload`: null until the first
 * load answers; an error is kept beside the last list loaded.
 */
export function useWholeList<T>(load: () => Promise<T[]>) {
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loads, setLoads] = useState(0);
  useEffect(() => {
    let live = true;
    load()
      .then((list) => {
        if (!live) return;
        setItems(list);
        setError(null);
      })
      .catch((caught) => {
        if (live) setError(caught);
      });
    return () => {
      live = false;
    };
  }, [loads]);
  return { items, error, reload: () => setLoads((n) => n + 1) };
}

/** The filters of a paged list: applying them shows their first page. */
export function FilterForm({ submitLabel, onApply, children }: { submitLabel: string; onApply: () => void; children: ComponentChildren }) {
  return (
    <form
      class="filters"
      onSubmit={(event) => {
        event.preventDefault();
        onApply();
      }}
    >
      {children}
      <div class="buttons">
        <button type="submit">{submitLabel}</button>
      </div>
    </form>
  );
}

/**
 * A paged list as every page shows it: the error of the last load, or how many rows match (`one`
 * and `many` name a row), the table that `children` draws of the page's rows, and the paging
 * controls named `label`.
 */
export function PagedResults<T>({
  list,
  label,
  one,
  many,
  children,
}: {
  list: PagedList<T>;
  label: string;
  one: string;
  many: string;
  children: (rows: T[]) => ComponentChildren;
}) {
  const { page, error } = list;
  return (
    <>
      {error !== null && <ErrorNotice error={error} />}
      {page && (
        <>
          <p role="status">{page.total === 1 ? `1 ${one} matches.` : `${page.total} ${many} match.`}</p>
          <div class="table-wrap">{children(page.data)}</div>
          <nav class="pager" aria-label={`${label} pages`}>
            <button type="button" class="secondary" disabled={!list.canGoBack} onClick={list.previous}>
              Previous page
            </button>
            <button type="button" class="secondary" disabled={page.next === null} onClick={list.next}>
              Next page
            </button>
          </nav>
        </>
      )}
    </>
  );
}

const PAGE_SIZES = [10, 25, 50, 100];

/** How many rows a page holds: the API's `limit`. */
export function PageSize({ id, value, onChange }: { id: string; value: number; onChange: (value: number) => void }) {
  return (
    <>
      <label for={id}>Rows per page</label>
      <select id={id} value={String(value)} onChange={(e) => onChange(Number(e.currentTarget.value))}>
        {PAGE_SIZES.map((size) => (
          <option key={size} value={String(size)}>
            {size}
          </option>
        ))}
      </select>
    </>
  );
}
