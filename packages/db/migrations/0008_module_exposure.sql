-- Exposure per module: whether the API serves a module's records at all (api_enabled), and
-- through which of its records endpoints (api_methods). Existing modules keep serving everything.
-- A constant default adds the columns without rewriting the table.
alter table modules
  add column api_enabled boolean not null default true,
  add column api_methods text[] not null default '{list,get,create,update,delete}'
    constraint modules_api_methods_known check (api_methods <@ '{list,get,create,update,delete}'::text[]);
