-- Tenants, their keys, and the reference API's modules and records.
-- Every tenant-owned row carries workspace_id, and every query filters on it.

create table workspaces (
  id          text primary key,
  name        text not null,
  created_at  timestamptz(3) not null default now()
);

create table api_keys (
  id                     text primary key,
  workspace_id           text not null references workspaces (id) on delete cascade,
  name                   text not null,
  -- Display hints of the current secret: enough to recognise it, never enough to use it.
  prefix                 text not null,
  last4                  text not null,
  mode                   text not null check (mode in ('live', 'test')),
  scopes                 text[] not null,
  tier                   text not null default 'free',
  rate_limit_per_minute  integer,
  burst                  integer,
  daily_quota            integer,
  expires_at             timestamptz(3),
  revoked_at             timestamptz(3),
  last_used_at           timestamptz(3),
  created_at             timestamptz(3) not null default now(),
  updated_at             timestamptz(3) not null default now()
);

-- A key's secrets: one current, plus the previous ones while a rotation's grace period lasts.
-- Each is stored only as the SHA-256 digest of the full key.
create table api_key_secrets (
  digest      bytea primary key,
  key_id      text not null references api_keys (id) on delete cascade,
  expires_at  timestamptz(3),
  created_at  timestamptz(3) not null default now()
);
create index api_key_secrets_key_idx on api_key_secrets (key_id);
create index api_keys_workspace_idx on api_keys (workspace_id, created_at, id);

create table modules (
  id           text primary key,
  workspace_id text not null references workspaces (id) on delete cascade,
  name         text not null,
  description  text,
  fields       jsonb not null default '[]',
  created_at   timestamptz(3) not null default now(),
  updated_at   timestamptz(3) not null default now(),
  unique (workspace_id, name)
);
create index modules_workspace_created_idx on modules (workspace_id, created_at, id);

create table records (
  id           text primary key,
  workspace_id text not null references workspaces (id) on delete cascade,
  module_id    text not null references modules (id) on delete cascade,
  data         jsonb not null,
  created_at   timestamptz(3) not null default now(),
  updated_at   timestamptz(3) not null default now()
);
create index records_module_created_idx on records (module_id, created_at, id);
create index records_data_idx on records using gin (data jsonb_path_ops);
