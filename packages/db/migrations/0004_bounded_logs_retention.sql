-- Bounded growth: requests without a valid key are counted instead of logged one by one, and
-- everything kept for a while is purged by age (see packages/server/src/maintenance/retention.ts).

-- Requests answered without a valid key belong to no workspace: one row per minute, client
-- address, method and status, with a count and one sample (the last request's path, at most 512
-- characters, and its request id). Refused traffic, however large, adds a bounded number of rows.
create table unauthenticated_requests (
  minute             timestamptz(3) not null,
  client_address     text not null,
  method             text not null,
  status             integer not null,
  requests           integer not null,
  sample_path        text not null,
  sample_request_id  text not null,
  primary key (minute, client_address, method, status)
);

-- The purge deletes by age in batches; without these it would scan whole tables per batch.
create index access_logs_created_idx on access_logs (created_at);
create index usage_minutes_minute_idx on usage_minutes (minute);
create index rate_limit_counters_window_idx on rate_limit_counters (window_start);
