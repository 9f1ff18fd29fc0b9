import type { AccessLogEntryListItem } from '@charter/client';
import { useState } from 'preact/hooks';
import { AnySelect, CopyButton, formatTime, fromLocalInput } from '../components.tsx';
import { FilterForm, PagedResults, PageSize, usePagedList } from '../paging.tsx';
import type { Identity } from '../session.ts';
import { KeyPicker, useKeyList } from './key-picker.tsx';

// Without `fields`, every property of an entry is there.
type AccessLogEntry = Required<AccessLogEntryListItem>;

const METHODS = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS'] as const;
type Method = (typeof METHODS)[number];

interface Filters {
  keyId: string;
  status: string;
  method: '' | Method;
  since: string;
  until: string;
  limit: number;
}

export function AccessLogPage({ identity, params }: { identity: Identity; params: URLSearchParams }) {
  const keys = useKeyList(identity);
  const [draft, setDraft] = useState<Filters>({ keyId: params.get('key_id') ?? '', status: '', method: '', since: '', until: '', limit: 25 });
  const list = usePagedList(draft, async (filters, cursor) => {
    const { data } = await identity.client.GET('/access-logs', {
      params: {
        query: {
          limit: filters.limit,
          cursor,
          key_id: filters.keyId || undefined,
          status: filters.status ? Number(filters.status) : undefined,
          method: filters.method || undefined,
          since: fromLocalInput(filters.since),
          until: fromLocalInput(filters.until),
        },
      },
    });
    return { ...data, data: data.data as AccessLogEntry[] };
  });
  const names = new Map((keys ?? []).map((key) => [key.id, key.name]));

  const set = (field: Exclude<keyof Filters, 'limit'>) => (value: string) => setDraft((d) => ({ ...d, [field]: value }));
  return (
    <section aria-labelledby="log-heading">
      <h2 id="log-heading">Calls to the API, newest first</h2>
      <FilterForm submitLabel="Apply filters" onApply={() => list.apply(draft)}>
        <div>
          <KeyPicker id="log-key" label="Key" keys={keys} value={draft.keyId} onChange={set('keyId')} allowAll />
        </div>
        <div>
          <label for="log-status">Status</label>
          <input id="log-status" type="number" min={100} max={599} inputMode="numeric" placeholder="any" value={draft.status} onInput={(e) => set('status')(e.currentTarget.value)} />
        </div>
        <div>
          <label for="log-method">Method</label>
          <AnySelect id="log-method" value={draft.method} options={METHODS} onChange={set('method')} />
        </div>
        <div>
          <label for="log-since">From</label>
          <input id="log-since" type="datetime-local" value={draft.since} onInput={(e) => set('since')(e.currentTarget.value)} />
        </div>
        <div>
          <label for="log-until">Until</label>
          <input id="log-until" type="datetime-local" value={draft.until} onInput={(e) => set('until')(e.currentTarget.value)} />
        </div>
        <div>
          <PageSize id="log-limit" value={draft.limit} onChange={(limit) => setDraft((d) => ({ ...d, limit }))} />
        </div>
      </FilterForm>
      <PagedResults list={list} label="Access log" one="call" many="calls">
        {(rows) => (
          <table>
            <caption class="visually-hidden">Access log</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Key</th>
                <th scope="col">Method</th>
                <th scope="col">Path</th>
                <th scope="col">Status</th>
                <th scope="col">Latency</th>
                <th scope="col">Request ID</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((entry) => (
                <tr key={entry.request_id + entry.created_at}>
                  <td>{formatTime(entry.created_at)}</td>
                  <td>{entry.key_id ? (names.get(entry.key_id) ?? entry.key_id) : '—'}</td>
                  <td>{entry.method}</td>
                  <td class="path">{entry.path}</td>
                  <td class={entry.status >= 400 ? 'status-error' : undefined}>{entry.status}</td>
                  <td>{entry.latency_ms.toFixed(1)} ms</td>
                  <td class="request-id">
                    <code>{entry.request_id}</code> <CopyButton text={entry.request_id} label={`Copy request ID ${entry.request_id}`} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </PagedResults>
    </section>
  );
}
