-- Rate-limit counters, idempotency records, and the access log with its per-minute usage roll-up.

-- One row per subject and fixed window; incremented atomically by every admission decision.
-- subject is 'key:<key id>' for authenticated requests, 'ip:<address>' for the others.
create table rate_limit_counters (
  subject       text not null,
  window_kind   text not null check (window_kind in ('minute', 'day')),
  window_start  timestamptz(3) not null,
  count         integer not null,
  primary key (subject, window_kind, window_start)
);

-- The first response to each (API key, Idempotency-Key), kept 24 hours.
-- status is null while the first request is in flight; owner and locked_until say who runs it
-- and until when, so that a request whose process died can be taken over after the lock expires.
create table idempotency_keys (
  key_id           text not null,
  idempotency_key  text not null,
  fingerprint      bytea not null,
  owner            text not null,
  locked_until     timestamptz(3),
  status           integer,
  response_body    text,
  created_at       timestamptz(3) not null default now(),
  expires_at       timestamptz(3) not null default now() + interval '24 hours',
  primary key (key_id, idempotency_key)
);
create index idempotency_keys_expires_idx on idempotency_keys (expires_at);

-- Every call, written in batches off the request path.
create table access_logs (
  id              text primary key,
  workspace_id    text,
  key_id          text,
  method          text not null,
  path            text not null,
  status          integer not null,
  latency_ms      double precision not null,
  request_id      text not null,
  client_address  text,
  created_at      timestamptz(3) not null
);
create index access_logs_workspace_created_idx on access_logs (workspace_id, created_at, id);
create index access_logs_request_idx on access_logs (request_id);

-- Calls per key per minute; hours and days are sums of minutes.
create table usage_minutes (
  key_id        text not null,
  minute        timestamptz(3) not null,
  requests      integer not null,
  errors        integer not null,
  primary key (key_id, minute)
);
