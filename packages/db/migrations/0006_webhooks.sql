-- Webhooks: a workspace's endpoints and their sealed signing secrets, the transactional outbox of
-- events, one delivery per (event, endpoint), and every attempt made for a delivery.
--
-- The outbox: a handler that changes a resource inserts its event and one pending delivery per
-- matching active endpoint of the same workspace, in the transaction of the change (see
-- packages/server/src/webhooks/outbox.ts). A rolled-back change leaves no event; a committed one
-- stays until a worker has delivered or abandoned it, whatever happens to the process.

-- A URL that receives a workspace's events.
create table webhook_endpoints (
  id                    text primary key,                 -- 'whk_…'
  workspace_id          text not null references workspaces (id) on delete cascade,
  url                   text not null,
  -- What it subscribes to: exact types ('record.created'), '<resource>.*' and '*'.
  events                text[] not null,
  description           text,
  -- Off: no delivery is claimed for it (pending ones wait and go out once it is back on).
  is_active             boolean not null default true,
  -- Why the worker switched it off (auto-disable after consecutive failures); null while on, and
  -- cleared by PATCH is_active: true.
  disabled_reason       text,
  -- How its secrets sign: 'hmac' (Standard Webhooks 'v1,', whsec_ secrets) or 'ed25519'
  -- ('v1a,', whsk_ private keys sealed below, whpk_ public key shown on the endpoint).
  signing_kind          text not null default 'hmac' check (signing_kind in ('hmac', 'ed25519')),
  -- Counters the worker updates in the transaction that records an attempt: success_count and
  -- failure_count count attempts; consecutive_failures is reset to 0 by a success and, when it
  -- reaches the auto-disable threshold, the worker sets is_active false and disabled_reason.
  -- last_delivery_at is the time of the last attempt, whatever its outcome.
  success_count         bigint not null default 0,
  failure_count         bigint not null default 0,
  consecutive_failures  integer not null default 0,
  last_delivery_at      timestamptz(3),
  created_at            timestamptz(3) not null default now(),
  updated_at            timestamptz(3) not null default now()
);
create index webhook_endpoints_workspace_idx on webhook_endpoints (workspace_id, created_at, id);

-- An endpoint's signing secrets: the current one (expires_at null) and, after a rotation, the
-- previous ones until expires_at (the grace period), during which every live secret signs: the
-- worker puts one signature per row with expires_at null or in the future into webhook-signature.
-- sealed is the secret (whsec_… or whsk_…) sealed with AES-256-GCM under a key that is not in the
-- database; the worker gets it back with openSecret (packages/server/src/webhooks/secrets.ts).
create table webhook_secrets (
  id           text primary key,
  endpoint_id  text not null references webhook_endpoints (id) on delete cascade,
  sealed       bytea not null,
  -- The Ed25519 public key ('whpk_…') of a whsk_ secret; null for HMAC secrets.
  public_key   text,
  expires_at   timestamptz(3),
  created_at   timestamptz(3) not null default now()
);
create index webhook_secrets_endpoint_idx on webhook_secrets (endpoint_id, created_at);

-- The outbox: one row per event, written with the change that caused it.
-- The body sent is {id, type, created_at, workspace_id, data}, created_at as ISO 8601 with
-- milliseconds; every attempt of every delivery of an event sends the same id (webhook-id).
create table webhook_events (
  id            text primary key,                         -- 'evt_…'
  workspace_id  text not null references workspaces (id) on delete cascade,
  type          text not null,                            -- 'record.created', …
  data          jsonb not null,                           -- the resource as the API shows it
  created_at    timestamptz(3) not null default now()
);
create index webhook_events_workspace_created_idx on webhook_events (workspace_id, created_at, id);

-- One delivery of one event to one endpoint.
create table webhook_deliveries (
  id               text primary key,                      -- 'dlv_…'
  event_id         text not null references webhook_events (id) on delete cascade,
  endpoint_id      text not null references webhook_endpoints (id) on delete cascade,
  -- A copy of the event's type, so that the deliveries list filters on it without a join.
  event_type       text not null,
  -- pending: not tried yet; retrying: failed, tried again at next_attempt_at; success: a 2xx;
  -- failed: abandoned after the last attempt of the schedule.
  status           text not null default 'pending' check (status in ('pending', 'success', 'failed', 'retrying')),
  -- Attempts made so far; the next one is attempt + 1.
  attempt          integer not null default 0,
  -- When a pending or retrying delivery is due; null once it succeeded or was abandoned.
  -- A manual retry sets it to now().
  next_attempt_at  timestamptz(3) default now(),
  -- The lease: a worker claims due deliveries of active endpoints with
  --   update … set locked_until = now() + <lease>, locked_by = <worker>
  --   where id in (select … where status in ('pending', 'retrying') and next_attempt_at <= now()
  --                and (locked_until is null or locked_until < now())
  --                order by next_attempt_at limit <n> for update skip locked)
  -- so that processes share the work and none sends a claimed delivery twice. It sends, then
  -- records the attempt and the new status, and clears locked_until/locked_by, in one
  -- transaction (where locked_by is still itself). A worker that dies mid-delivery leaves its
  -- lease to expire; the delivery is then claimed again and the same event (same id) sent again.
  locked_until     timestamptz(3),
  locked_by        text,
  -- The status code of the last attempt (null when it got no response).
  response_code    integer,
  -- When the 2xx arrived.
  delivered_at     timestamptz(3),
  created_at       timestamptz(3) not null default now(),
  updated_at       timestamptz(3) not null default now()
);
create index webhook_deliveries_endpoint_created_idx on webhook_deliveries (endpoint_id, created_at, id);
-- What the claim reads: only the deliveries still to be sent.
create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at)
  where status in ('pending', 'retrying');
create index webhook_deliveries_event_idx on webhook_deliveries (event_id);

-- Every attempt made for a delivery, written by the worker with the delivery's new status.
create table webhook_attempts (
  delivery_id       text not null references webhook_deliveries (id) on delete cascade,
  attempt           integer not null,                     -- 1 for the first
  status_code       integer,                              -- null when no response came
  response_time_ms  double precision not null,
  response_body     text,                                 -- truncated to the safe-http cap
  error             text,                                 -- why it failed without a response
  attempted_at      timestamptz(3) not null default now(),
  primary key (delivery_id, attempt)
);
