import type { ApiKey } from '@charter/client';
import { useEffect, useState } from 'preact/hooks';
import { allows } from '../scopes.ts';
import type { Identity } from '../session.ts';

/**
 * The workspace's keys for a picker: undefined while they load, null when this key may not list
 * them (the picker then takes a key ID).
 */
export function useKeyList(identity: Identity): ApiKey[] | null | undefined {
  const canList = allows(identity.scopes, 'api-keys:read') && identity.scopes !== null;
  const [keys, setKeys] = useState<ApiKey[] | null | undefined>(canList ? undefined : null);
  useEffect(() => {
    if (!canList) return;
    identity.client
      .paginate('/api-keys', { params: { query: { limit: 100 } } })
      .toArray({ max: 10_000 })
      .then(setKeys)
      .catch(() => setKeys(null));
  }, [canList]);
  return keys;
}

export function KeyPicker({ id, label, keys, value, onChange, allowAll }: { id: string; label: string; keys: ApiKey[] | null | undefined; value: string; onChange: (value: string) => void; allowAll?: boolean }) {
  return (
    <>
      <label for={id}>{label}</label>
      {keys === undefined ? (
        <select id={id} disabled>
          <option>Loading keys…</option>
        </select>
      ) : keys ? (
        <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
          {allowAll ? <option value="">All keys</option> : <option value="">Choose a key</option>}
          {keys.map((key) => (
            <option key={key.id} value={key.id}>
              {key.name} ({key.prefix}…{key.last4})
            </option>
          ))}
        </select>
      ) : (
        <input id={id} placeholder="key_…" value={value} onChange={(e) => onChange(e.currentTarget.value.trim())} />
      )}
    </>
  );
}
