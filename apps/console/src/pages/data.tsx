import type { Module } from '@charter/client';
import { useEffect, useState } from 'preact/hooks';
import { ErrorNotice, formatTime } from '../components.tsx';
import { FilterForm, PagedResults, PageSize, usePagedList } from '../paging.tsx';
import type { Identity } from '../session.ts';

const SORTS = ['-created_at', 'created_at', '-updated_at', 'updated_at', 'id', '-id'] as const;
type Sort = (typeof SORTS)[number];
const SORT_LABELS: Record<Sort, string> = {
  '-created_at': 'newest first',
  created_at: 'oldest first',
  '-updated_at': 'recently updated first',
  updated_at: 'least recently updated first',
  id: 'ID, ascending',
  '-id': 'ID, descending',
};

interface Query {
  search: string;
  filterField: string;
  filterValue: string;
  sort: Sort;
  limit: number;
}

export function DataPage({ identity }: { identity: Identity }) {
  const [modules, setModules] = useState<Module[] | null>(null);
  const [moduleId, setModuleId] = useState('');
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    identity.client
      .paginate('/modules', { params: { query: { limit: 100 } } })
      .toArray({ max: 10_000 })
      .then((list) => {
        setModules(list);
        setModuleId((current) => current || list[0]?.id || '');
      })
      .catch(setError);
  }, []);
  const module = modules?.find((m) => m.id === moduleId);
  return (
    <section aria-labelledby="data-heading">
      <h2 id="data-heading">Modules and their records</h2>
      {error !== null && <ErrorNotice error={error} />}
      {modules && modules.length === 0 && <p>This workspace has no modules yet.</p>}
      {modules && modules.length > 0 && (
        <div class="filters">
          <div>
            <label for="data-module">Module</label>
            <select id="data-module" value={moduleId} onChange={(e) => setModuleId(e.currentTarget.value)}>
              {modules.map((m) => (
                <option key={m.id} value={m.id}>
                  {m.name}
                </option>
              ))}
            </select>
          </div>
        </div>
      )}
      {module && <ModuleView key={module.id} identity={identity} module={module} />}
    </section>
  );
}

function ModuleView({ identity, module }: { identity: Identity; module: Module }) {
  const [draft, setDraft] = useState<Query>({ search: '', filterField: module.fields[0]?.name ?? '', filterValue: '', sort: '-created_at', limit: 25 });
  const list = usePagedList(draft, async (query, cursor) => {
    const { data } = await identity.client.GET('/modules/{module_id}/records', {
      params: {
        path: { module_id: module.id },
        query: {
          limit: query.limit,
          cursor,
          sort: [query.sort],
          search: query.search || undefined,
          filter: query.filterField && query.filterValue ? [`${query.filterField}:${query.filterValue}`] : undefined,
        },
      },
    });
    return { ...data, data: data.data as Array<{ id: string; data: Record<string, unknown>; created_at: string }> };
  });

  return (
    <>
      <h3>Fields of {module.name}</h3>
      <table class="fields">
        <caption class="visually-hidden">Fields of {module.name}</caption>
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">Type</th>
            <th scope="col">Required</th>
          </tr>
        </thead>
        <tbody>
          {module.fields.map((field) => (
            <tr key={field.name}>
              <td>{field.name}</td>
              <td>{field.type}</td>
              <td>{field.required ? 'yes' : 'no'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Records</h3>
      <FilterForm submitLabel="Show records" onApply={() => list.apply(draft)}>
        <div>
          <label for="records-search">Search text fields</label>
          <input id="records-search" type="search" value={draft.search} onInput={(e) => setDraft((d) => ({ ...d, search: e.currentTarget.value }))} />
        </div>
        {module.fields.length > 0 && (
          <>
            <div>
              <label for="records-filter-field">Filter on field</label>
              <select id="records-filter-field" value={draft.filterField} onChange={(e) => setDraft((d) => ({ ...d, filterField: e.currentTarget.value }))}>
                {module.fields.map((field) => (
                  <option key={field.name} value={field.name}>
                    {field.name}
                  </option>
                ))}
              </select>
            </div>
            <div>
              <label for="records-filter-value">equal to</label>
              <input id="records-filter-value" value={draft.filterValue} onInput={(e) => setDraft((d) => ({ ...d, filterValue: e.currentTarget.value }))} />
            </div>
          </>
        )}
        <div>
          <label for="records-sort">Sort</label>
          <select id="records-sort" value={draft.sort} onChange={(e) => setDraft((d) => ({ ...d, sort: e.currentTarget.value as Sort }))}>
            {SORTS.map((sort) => (
              <option key={sort} value={sort}>
                {SORT_LABELS[sort]}
              </option>
            ))}
          </select>
        </div>
        <div>
          <PageSize id="records-limit" value={draft.limit} onChange={(limit) => setDraft((d) => ({ ...d, limit }))} />
        </div>
      </FilterForm>
      <PagedResults list={list} label="Records" one="record" many="records">
        {(rows) => (
          <table>
            <caption class="visually-hidden">Records of {module.name}</caption>
            <thead>
              <tr>
                <th scope="col">ID</th>
                {module.fields.map((field) => (
                  <th key={field.name} scope="col">
                    {field.name}
                  </th>
                ))}
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((record) => (
                <tr key={record.id}>
                  <td>
                    <code>{record.id}</code>
                  </td>
                  {module.fields.map((field) => (
                    <td key={field.name}>{show(record.data[field.name])}</td>
                  ))}
                  <td>{formatTime(record.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </PagedResults>
    </>
  );
}

function show(value: unknown): string {
  if (value === undefined || value === null) return '—';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
