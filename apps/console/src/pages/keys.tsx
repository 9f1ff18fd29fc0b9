import type { ApiKey } from '@charter/client';
import { useState } from 'preact/hooks';
import { CheckboxGroup, ErrorNotice, formatTime, fromLocalInput, SecretDialog, type ShownSecret, toLocalInput } from '../components.tsx';
import { ConfirmDialog, FormDialog, RotateSecretDialog } from '../dialogs.tsx';
import { useWholeList } from '../paging.tsx';
import { allows, grantable } from '../scopes.ts';
import type { Identity } from '../session.ts';

const TIERS = ['free', 'starter', 'pro', 'agency', 'enterprise'] as const;
type Tier = (typeof TIERS)[number];
const EXPIRING_MS = 7 * 24 * 3600_000;

/** What this tab did to keys that the list cannot tell: rotations' grace periods and revocations. */
interface LocalState {
  graceUntil: Map<string, string>;
  revoked: Map<string, ApiKey>;
}

function statusOf(key: ApiKey, local: LocalState, now: number): string {
  if (local.revoked.has(key.id)) return 'revoked';
  if (key.expires_at && Date.parse(key.expires_at) <= now) return 'expired';
  const grace = local.graceUntil.get(key.id);
  if (grace && Date.parse(grace) > now) return `in grace: the previous secret works until ${formatTime(grace)}`;
  if (key.expires_at && Date.parse(key.expires_at) - now < EXPIRING_MS) return 'expiring';
  return 'active';
}

type Dialog =
  | { kind: 'create' }
  | { kind: 'edit'; key: ApiKey }
  | { kind: 'rotate'; key: ApiKey }
  | { kind: 'revoke'; key: ApiKey }
  | ({ kind: 'secret' } & ShownSecret);

export function KeysPage({ identity }: { identity: Identity }) {
  const { client, scopes } = identity;
  const { items: keys, error, reload } = useWholeList(() => client.paginate('/api-keys', { params: { query: { limit: 100 } } }).toArray({ max: 10_000 }));
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [local] = useState<LocalState>(() => ({ graceUntil: new Map(), revoked: new Map() }));
  const canWrite = allows(scopes, 'api-keys:write');
  const canDelete = allows(scopes, 'api-keys:delete');
  const canSeeUsage = allows(scopes, 'usage:read');

  const now = Date.now();
  const shown = keys ? [...keys.filter((k) => !local.revoked.has(k.id)), ...local.revoked.values()] : [];

  return (
    <section aria-labelledby="keys-heading">
      <div class="toolbar">
        <h2 id="keys-heading">API keys of this workspace</h2>
        {canWrite && identity.scopes && (
          <button type="button" onClick={() => setDialog({ kind: 'create' })}>
            Create key
          </button>
        )}
      </div>
      {error !== null && <ErrorNotice error={error} />}
      {keys === null && error === null && <p aria-busy="true">Loading keys…</p>}
      {keys !== null && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Mode</th>
                <th scope="col">Scopes</th>
                <th scope="col">Tier and limits</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((key) => {
                const status = statusOf(key, local, now);
                const revoked = status === 'revoked';
                return (
                  <tr key={key.id} data-key-id={key.id}>
                    <td>
                      {key.name}
                      {key.id === identity.key?.id && <span class="you"> (this key)</span>}
                    </td>
                    <td>
                      <code class="nowrap">
                        {key.prefix}…{key.last4}
                      </code>
                    </td>
                    <td>{key.mode}</td>
                    <td>{key.scopes.join(', ')}</td>
                    <td>
                      {key.tier}: {key.rate_limit_per_minute.toLocaleString()}/min{key.burst ? ` +${key.burst.toLocaleString()} burst` : ''}
                      {key.daily_quota !== null ? `, ${key.daily_quota.toLocaleString()}/day` : ''}
                    </td>
                    <td>{key.expires_at ? formatTime(key.expires_at) : 'never'}</td>
                    <td>{formatTime(key.last_used_at)}</td>
                    <td class={`status status-${status.split(':')[0]!.replace(/\W+/g, '-')}`}>{status}</td>
                    <td>
                      <div class="actions">
                        {!revoked && canSeeUsage && (
                          <a href={`#/usage?key_id=${key.id}`} aria-label={`Usage of ${key.name}`}>
                            Usage
                          </a>
                        )}
                        {!revoked && canWrite && (
                          <>
                            <button type="button" class="secondary small" aria-label={`Edit ${key.name}`} onClick={() => setDialog({ kind: 'edit', key })}>
                              Edit
                            </button>
                            <button type="button" class="secondary small" aria-label={`Rotate ${key.name}`} onClick={() => setDialog({ kind: 'rotate', key })}>
                              Rotate
                            </button>
                          </>
                        )}
                        {!revoked && canDelete && (
                          <button type="button" class="danger small" aria-label={`Revoke ${key.name}`} onClick={() => setDialog({ kind: 'revoke', key })}>
                            Revoke
                          </button>
                        )}
                      </div>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {dialog?.kind === 'create' && (
        <KeyForm
          identity={identity}
          onClose={() => setDialog(null)}
          onCreated={(secret, name) => {
            reload();
            setDialog({ kind: 'secret', title: `Secret of ${name}`, secret });
          }}
        />
      )}
      {dialog?.kind === 'edit' && <KeyForm identity={identity} editing={dialog.key} onClose={() => setDialog(null)} onSaved={() => {
            setDialog(null);
            reload();
          }} />}
      {dialog?.kind === 'rotate' && (
        <RotateDialog
          identity={identity}
          apiKey={dialog.key}
          onClose={() => setDialog(null)}
          onRotated={(secret, graceEnds) => {
            local.graceUntil.set(dialog.key.id, graceEnds);
            reload();
            setDialog({ kind: 'secret', title: `New secret of ${dialog.key.name}`, secret, note: `The previous secret works until ${formatTime(graceEnds)}.` });
          }}
        />
      )}
      {dialog?.kind === 'revoke' && (
        <RevokeDialog
          identity={identity}
          apiKey={dialog.key}
          onClose={() => setDialog(null)}
          onRevoked={() => {
            local.revoked.set(dialog.key.id, dialog.key);
            setDialog(null);
            reload();
          }}
        />
      )}
      {dialog?.kind === 'secret' && <SecretDialog {...dialog} onClose={() => setDialog(null)} />}
    </section>
  );
}

function KeyForm({
  identity,
  editing,
  onClose,
  onCreated,
  onSaved,
}: {
  identity: Identity;
  editing?: ApiKey;
  onClose: () => void;
  onCreated?: (secret: string, name: string) => void;
  onSaved?: () => void;
}) {
  const own = identity.scopes ?? [];
  const [name, setName] = useState(editing?.name ?? '');
  const [mode, setMode] = useState<'live' | 'test'>(identity.mode);
  const [picked, setPicked] = useState<string[]>([]);
  const [tier, setTier] = useState<Tier>((editing?.tier as Tier) ?? 'free');
  const [perMinute, setPerMinute] = useState('');
  const [quota, setQuota] = useState(editing?.daily_quota ? String(editing.daily_quota) : '');
  const [expires, setExpires] = useState(editing?.expires_at ? toLocalInput(new Date(editing.expires_at)) : '');
  const title = editing ? `Edit ${editing.name}` : 'Create a key';

  async function submit() {
    if (editing) {
      await identity.client.PATCH('/api-keys/{key_id}', {
        params: { path: { key_id: editing.id } },
        body: {
          name,
          tier,
          ...(perMinute ? { rate_limit_per_minute: Number(perMinute) } : {}),
          daily_quota: quota ? Number(quota) : null,
          expires_at: fromLocalInput(expires) ?? null,
        },
      });
      onSaved?.();
    } else {
      const { data } = await identity.client.POST('/api-keys', {
        body: {
          name,
          scopes: picked,
          mode,
          tier,
          ...(perMinute ? { rate_limit_per_minute: Number(perMinute) } : {}),
          ...(quota ? { daily_quota: Number(quota) } : {}),
          ...(expires ? { expires_at: fromLocalInput(expires) } : {}),
        },
      });
      onCreated?.(data.key, data.name);
    }
  }

  return (
    <FormDialog title={title} submitLabel={editing ? 'Save' : 'Create key'} disabled={!editing && picked.length === 0} onSubmit={submit} onClose={onClose}>
      <label for="key-name">Name</label>
      <input id="key-name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
      {!editing && (
        <>
          <label for="key-mode">Mode</label>
          <select id="key-mode" value={mode} onChange={(e) => setMode(e.currentTarget.value as 'live' | 'test')}>
            {identity.mode === 'live' && <option value="live">live (sk_live_)</option>}
            <option value="test">test (sk_test_)</option>
          </select>
          <CheckboxGroup legend="Scopes (only those your own key holds)" options={grantable(own)} picked={picked} onChange={setPicked} />
        </>
      )}
      <label for="key-tier">Tier</label>
      <select id="key-tier" value={tier} onChange={(e) => setTier(e.currentTarget.value as Tier)}>
        {TIERS.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </select>
      <label for="key-rate">{editing ? 'Requests per minute (empty: unchanged)' : "Requests per minute (empty: the tier's)"}</label>
      <input id="key-rate" type="number" min={1} inputMode="numeric" value={perMinute} onInput={(e) => setPerMinute(e.currentTarget.value)} />
      <label for="key-quota">Daily quota (empty: none)</label>
      <input id="key-quota" type="number" min={1} inputMode="numeric" value={quota} onInput={(e) => setQuota(e.currentTarget.value)} />
      <label for="key-expires">Expires (empty: never, or no later than your own key)</label>
      <input id="key-expires" type="datetime-local" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
    </FormDialog>
  );
}

function RotateDialog({ identity, apiKey, onClose, onRotated }: { identity: Identity; apiKey: ApiKey; onClose: () => void; onRotated: (secret: string, graceEnds: string) => void }) {
  return (
    <RotateSecretDialog
      title={`Rotate ${apiKey.name}`}
      selectId="grace"
      noGrace="None: the old secret stops now"
      submitLabel="Rotate"
      onClose={onClose}
      onRotate={async (hours) => {
        const { data } = await identity.client.POST('/api-keys/{key_id}/rotate', { params: { path: { key_id: apiKey.id } }, body: { grace_period_hours: hours } });
        onRotated(data.key, data.grace_period_ends_at);
      }}
    >
      A new secret replaces the current one. During the grace period both work, so you can update your services.
    </RotateSecretDialog>
  );
}

function RevokeDialog({ identity, apiKey, onClose, onRevoked }: { identity: Identity; apiKey: ApiKey; onClose: () => void; onRevoked: () => void }) {
  return (
    <ConfirmDialog
      title={`Revoke ${apiKey.name}?`}
      confirmLabel="Revoke key"
      onClose={onClose}
      onConfirm={async () => {
        await identity.client.DELETE('/api-keys/{key_id}', { params: { path: { key_id: apiKey.id } } });
        onRevoked();
      }}
    >
      The key <code>{apiKey.prefix}…{apiKey.last4}</code> stops working at once, on every server. This cannot be undone.
    </ConfirmDialog>
  );
}
