import type { DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEventPattern, WebhookEventType, WebhookTestResult } from '@charter/client';
import { useState } from 'preact/hooks';
import { AnySelect, CheckboxGroup, ErrorNotice, formatTime, Modal, SecretDialog, type ShownSecret } from '../components.tsx';
import { ConfirmDialog, FormDialog, RotateSecretDialog, useAction } from '../dialogs.tsx';
import { FilterForm, PagedResults, PageSize, usePagedList, useWholeList } from '../paging.tsx';
import { allows } from '../scopes.ts';
import type { Identity } from '../session.ts';

// Keyed by the client's own types, so the typecheck fails when the API adds a pattern or a type
// and this picker has not learnt it yet.
const PATTERNS: Record<WebhookEventPattern, true> = {
  '*': true,
  'module.*': true,
  'record.*': true,
  'api_key.*': true,
  'module.created': true,
  'module.updated': true,
  'module.deleted': true,
  'record.created': true,
  'record.updated': true,
  'record.deleted': true,
  'api_key.created': true,
  'api_key.rotated': true,
  'api_key.revoked': true,
};
const EVENT_PATTERNS = Object.keys(PATTERNS) as WebhookEventPattern[];
const EVENT_TYPES = Object.keys({ ...PATTERNS, 'webhook.test': true } satisfies Record<WebhookEventType | WebhookEventPattern, true>).filter((p) => !p.includes('*')) as WebhookEventType[];
const STATUSES: Record<DeliveryStatus, string> = {
  pending: 'pending: not tried yet',
  retrying: 'retrying: failed, tried again later',
  success: 'success',
  failed: 'failed: abandoned',
};

type Dialog =
  | { kind: 'create' }
  | { kind: 'edit'; endpoint: WebhookEndpoint }
  | { kind: 'rotate'; endpoint: WebhookEndpoint }
  | { kind: 'delete'; endpoint: WebhookEndpoint }
  | { kind: 'test'; endpoint: WebhookEndpoint }
  | ({ kind: 'secret' } & ShownSecret);

function statusOf(endpoint: WebhookEndpoint): string {
  if (endpoint.is_active) return 'active';
  return endpoint.disabled_reason ? `disabled: ${endpoint.disabled_reason}` : 'disabled';
}

export function WebhooksPage({ identity, params }: { identity: Identity; params: URLSearchParams }) {
  const { client, scopes } = identity;
  const { items: endpoints, error, reload } = useWholeList(async () => (await client.paginate('/webhooks', { params: { query: { limit: 100 } } }).toArray({ max: 10_000 })) as WebhookEndpoint[]);
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const selectedId = params.get('webhook_id');
  const canWrite = allows(scopes, 'webhooks:write');
  const canDelete = allows(scopes, 'webhooks:delete');

  const selected = endpoints?.find((e) => e.id === selectedId);

  return (
    <section aria-labelledby="webhooks-heading">
      <div class="toolbar">
        <h2 id="webhooks-heading">Webhook endpoints of this workspace</h2>
        <div class="actions">
          <button type="button" class="secondary" onClick={reload}>
            Refresh endpoints
          </button>
          {canWrite && (
            <button type="button" onClick={() => setDialog({ kind: 'create' })}>
              Add endpoint
            </button>
          )}
        </div>
      </div>
      {error !== null && <ErrorNotice error={error} />}
      {endpoints === null && error === null && <p aria-busy="true">Loading endpoints…</p>}
      {endpoints !== null && endpoints.length === 0 && <p>No endpoints yet.</p>}
      {endpoints !== null && endpoints.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Webhook endpoints</caption>
            <thead>
              <tr>
                <th scope="col">URL</th>
                <th scope="col">Events</th>
                <th scope="col">Description</th>
                <th scope="col">Status</th>
                <th scope="col">Successes / failures</th>
                <th scope="col">Last delivery</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {endpoints.map((endpoint) => {
                const status = statusOf(endpoint);
                return (
                  <tr key={endpoint.id} data-webhook-id={endpoint.id}>
                    <td class="path">{endpoint.url}</td>
                    <td>{endpoint.events.join(', ')}</td>
                    <td>{endpoint.description ?? '—'}</td>
                    <td class={endpoint.is_active ? 'status status-active' : 'status status-error'}>{status}</td>
                    <td>
                      {endpoint.success_count.toLocaleString()} / {endpoint.failure_count.toLocaleString()}
                      {endpoint.consecutive_failures > 0 ? ` (${endpoint.consecutive_failures} in a row)` : ''}
                    </td>
                    <td>{formatTime(endpoint.last_delivery_at)}</td>
                    <td>
                      <div class="actions">
                        <a href={`#/webhooks?webhook_id=${endpoint.id}`} aria-label={`Deliveries of ${endpoint.url}`} aria-current={endpoint.id === selectedId ? 'true' : undefined}>
                          Deliveries
                        </a>
                        {canWrite && (
                          <>
                            <button type="button" class="secondary small" aria-label={`Test ${endpoint.url}`} onClick={() => setDialog({ kind: 'test', endpoint })}>
                              Test
                            </button>
                            <button type="button" class="secondary small" aria-label={`Edit ${endpoint.url}`} onClick={() => setDialog({ kind: 'edit', endpoint })}>
                              Edit
                            </button>
                            <button type="button" class="secondary small" aria-label={`Rotate secret of ${endpoint.url}`} onClick={() => setDialog({ kind: 'rotate', endpoint })}>
                              Rotate secret
                            </button>
                          </>
                        )}
                        {canDelete && (
                          <button type="button" class="danger small" aria-label={`Delete ${endpoint.url}`} onClick={() => setDialog({ kind: 'delete', endpoint })}>
                            Delete
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
      {selected && <Deliveries key={selected.id} identity={identity} endpoint={selected} canWrite={canWrite} />}
      {selectedId && endpoints !== null && !selected && <p>That endpoint is not in this workspace any more: it may have been deleted.</p>}
      {dialog?.kind === 'create' && (
        <EndpointForm
          identity={identity}
          onClose={() => setDialog(null)}
          onSaved={(saved) => {
            reload();
            if (saved.secret) setDialog({ kind: 'secret', title: 'Signing secret of the new endpoint', secret: saved.secret, note: saved.url });
            else setDialog(null);
          }}
        />
      )}
      {dialog?.kind === 'edit' && (
        <EndpointForm
          identity={identity}
          editing={dialog.endpoint}
          onClose={() => setDialog(null)}
          onSaved={() => {
            setDialog(null);
            reload();
          }}
        />
      )}
      {dialog?.kind === 'rotate' && (
        <RotateDialog
          identity={identity}
          endpoint={dialog.endpoint}
          onClose={() => setDialog(null)}
          onRotated={(secret, previousEnds) => {
            reload();
            if (!secret) return setDialog(null);
            setDialog({
              kind: 'secret',
              title: 'New signing secret',
              secret,
              note: `${dialog.endpoint.url}: the previous secret keeps signing beside it until ${formatTime(previousEnds)}.`,
            });
          }}
        />
      )}
      {dialog?.kind === 'delete' && (
        <DeleteDialog
          identity={identity}
          endpoint={dialog.endpoint}
          onClose={() => setDialog(null)}
          onDeleted={() => {
            setDialog(null);
            if (selectedId === dialog.endpoint.id) location.hash = '#/webhooks';
            reload();
          }}
        />
      )}
      {dialog?.kind === 'test' && <TestDialog identity={identity} endpoint={dialog.endpoint} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'secret' && <SecretDialog {...dialog} onClose={() => setDialog(null)} />}
    </section>
  );
}

function EndpointForm({
  identity,
  editing,
  onClose,
  onSaved,
}: {
  identity: Identity;
  editing?: WebhookEndpoint;
  onClose: () => void;
  onSaved: (saved: WebhookEndpoint & { secret?: string | null }) => void;
}) {
  const [url, setUrl] = useState(editing?.url ?? 'https://');
  const [events, setEvents] = useState<WebhookEventPattern[]>(editing?.events ?? []);
  const [description, setDescription] = useState(editing?.description ?? '');
  const [active, setActive] = useState(editing?.is_active ?? true);
  async function submit() {
    if (editing) {
      const { data } = await identity.client.PATCH('/webhooks/{webhook_id}', {
        params: { path: { webhook_id: editing.id } },
        body: { url, events, description: description || null, is_active: active },
      });
      onSaved(data);
    } else {
      const { data } = await identity.client.POST('/webhooks', { body: { url, events, ...(description ? { description } : {}) } });
      onSaved(data);
    }
  }

  return (
    <FormDialog
      title={editing ? 'Edit endpoint' : 'Add a webhook endpoint'}
      submitLabel={editing ? 'Save' : 'Add endpoint'}
      disabled={events.length === 0}
      onSubmit={submit}
      onClose={onClose}
    >
      <label for="webhook-url">URL (https:// on a public address)</label>
      <input id="webhook-url" type="url" required maxLength={2048} value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
      <CheckboxGroup legend="Events it receives (a type, every type of a resource, or *)" options={EVENT_PATTERNS} picked={events} onChange={setEvents} />
      <label for="webhook-description">Description (optional)</label>
      <input id="webhook-description" maxLength={500} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      {editing && (
        <label class="check">
          <input type="checkbox" checked={active} onChange={(e) => setActive(e.currentTarget.checked)} />
          Active: events are delivered {editing.disabled_reason ? `(switched off: ${editing.disabled_reason})` : ''}
        </label>
      )}
    </FormDialog>
  );
}

function RotateDialog({
  identity,
  endpoint,
  onClose,
  onRotated,
}: {
  identity: Identity;
  endpoint: WebhookEndpoint;
  onClose: () => void;
  onRotated: (secret: string | null, previousEnds: string) => void;
}) {
  return (
    <RotateSecretDialog
      title="Rotate the signing secret"
      selectId="webhook-grace"
      noGrace="None: the old secret stops signing now"
      submitLabel="Rotate secret"
      onClose={onClose}
      onRotate={async (hours) => {
        const { data } = await identity.client.POST('/webhooks/{webhook_id}/rotate-secret', {
          params: { path: { webhook_id: endpoint.id } },
          body: { grace_period_hours: hours },
        });
        onRotated(data.secret, data.previous_secret_expires_at);
      }}
    >
      A new secret signs the deliveries to <code>{endpoint.url}</code>. During the grace period the previous one signs them too, so the receiver can switch at its own pace.
    </RotateSecretDialog>
  );
}

function DeleteDialog({ identity, endpoint, onClose, onDeleted }: { identity: Identity; endpoint: WebhookEndpoint; onClose: () => void; onDeleted: () => void }) {
  return (
    <ConfirmDialog
      title="Delete this endpoint?"
      confirmLabel="Delete endpoint"
      onClose={onClose}
      onConfirm={async () => {
        await identity.client.DELETE('/webhooks/{webhook_id}', { params: { path: { webhook_id: endpoint.id } } });
        onDeleted();
      }}
    >
      Nothing more is sent to <code>{endpoint.url}</code>, and its secrets and deliveries are deleted. This cannot be undone.
    </ConfirmDialog>
  );
}

/** Sends a `webhook.test` event at once and shows what the endpoint answered. */
function TestDialog({ identity, endpoint, onClose }: { identity: Identity; endpoint: WebhookEndpoint; onClose: () => void }) {
  const [result, setResult] = useState<WebhookTestResult | null>(null);
  const { busy, error, run } = useAction();
  const send = () =>
    run(async () => {
      setResult(null);
      const { data } = await identity.client.POST('/webhooks/{webhook_id}/test', { params: { path: { webhook_id: endpoint.id } } });
      setResult(data);
    });
  return (
    <Modal title="Send a test event" onClose={onClose}>
      <p>
        A signed <code>webhook.test</code> event goes to <code>{endpoint.url}</code> now, active or not. Nothing is queued, retried or counted.
      </p>
      <div role="status" data-testid="test-result">
        {busy && <p>Sending…</p>}
        {result && (
          <div class={result.success ? 'test-ok' : 'error'}>
            <p>
              <strong>{result.success ? 'Success:' : 'Failed:'}</strong>{' '}
              {result.status_code !== undefined ? `the endpoint answered HTTP ${result.status_code}` : `no answer (${result.error ?? 'unknown error'})`} in{' '}
              {result.response_time_ms.toFixed(0)} ms.
            </p>
            {result.response_body && (
              <p>
                Its answer: <code>{result.response_body}</code>
              </p>
            )}
          </div>
        )}
      </div>
      {error !== null && <ErrorNotice error={error} />}
      <div class="buttons">
        <button type="button" disabled={busy} onClick={send}>
          Send test event
        </button>
        <button type="button" class="secondary" onClick={onClose}>
          Close
        </button>
      </div>
    </Modal>
  );
}

interface DeliveryFilters {
  status: '' | DeliveryStatus;
  eventType: '' | WebhookEventType;
  limit: number;
}

function Deliveries({ identity, endpoint, canWrite }: { identity: Identity; endpoint: WebhookEndpoint; canWrite: boolean }) {
  const [draft, setDraft] = useState<DeliveryFilters>({ status: '', eventType: '', limit: 25 });
  const list = usePagedList(draft, async (filters, cursor) => {
    const { data } = await identity.client.GET('/webhooks/{webhook_id}/deliveries', {
      params: {
        path: { webhook_id: endpoint.id },
        query: { limit: filters.limit, cursor, status: filters.status || undefined, event_type: filters.eventType || undefined },
      },
    });
    return { ...data, data: data.data as WebhookDelivery[] };
  });
  const [retryError, setRetryError] = useState<unknown>(null);
  const [retried, setRetried] = useState<string | null>(null);

  async function retry(delivery: WebhookDelivery) {
    setRetryError(null);
    setRetried(null);
    try {
      await identity.client.POST('/webhooks/{webhook_id}/deliveries/{delivery_id}/retry', { params: { path: { webhook_id: endpoint.id, delivery_id: delivery.id } } });
      setRetried(delivery.id);
    } catch (caught) {
      setRetryError(caught);
    }
    list.reload();
  }

  return (
    <section aria-labelledby="deliveries-heading">
      <h3 id="deliveries-heading">
        Deliveries to <code>{endpoint.url}</code>, newest first
      </h3>
      <FilterForm submitLabel="Show deliveries" onApply={() => list.apply(draft)}>
        <div>
          <label for="delivery-status">Delivery status</label>
          <AnySelect id="delivery-status" value={draft.status} options={Object.keys(STATUSES) as DeliveryStatus[]} onChange={(status) => setDraft((d) => ({ ...d, status }))} />
        </div>
        <div>
          <label for="delivery-event">Event type</label>
          <AnySelect id="delivery-event" value={draft.eventType} options={EVENT_TYPES} onChange={(eventType) => setDraft((d) => ({ ...d, eventType }))} />
        </div>
        <div>
          <PageSize id="delivery-limit" value={draft.limit} onChange={(limit) => setDraft((d) => ({ ...d, limit }))} />
        </div>
      </FilterForm>
      {retryError !== null && <ErrorNotice error={retryError} />}
      {retried && <p role="status">Delivery {retried} is due now: the next attempt goes out at once.</p>}
      <PagedResults list={list} label="Deliveries" one="delivery" many="deliveries">
        {(rows) => (
          <table>
            <caption class="visually-hidden">Deliveries</caption>
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Event</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last answer</th>
                <th scope="col">Next attempt</th>
                <th scope="col">Delivered</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((delivery) => (
                <tr key={delivery.id} data-delivery-id={delivery.id}>
                  <td>{formatTime(delivery.created_at)}</td>
                  <td>
                    {delivery.event_type}
                    <br />
                    <code>{delivery.event_id}</code>
                  </td>
                  <td class={delivery.status === 'failed' || delivery.status === 'retrying' ? 'status-error' : undefined}>{STATUSES[delivery.status]}</td>
                  <td>{delivery.attempt}</td>
                  <td>{delivery.response_code ?? '—'}</td>
                  <td>{formatTime(delivery.next_retry_at)}</td>
                  <td>{formatTime(delivery.delivered_at)}</td>
                  <td>
                    {canWrite && (delivery.status === 'pending' || delivery.status === 'retrying') && (
                      <button type="button" class="secondary small" aria-label={`Retry now: delivery ${delivery.id}`} onClick={() => retry(delivery)}>
                        Retry now
                      </button>
                    )}
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
