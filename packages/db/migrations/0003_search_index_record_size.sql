-- Record search through a trigram index, and each record's size for byte-bounded pages.

create extension if not exists pg_trgm;

-- Every top-level string value of a record's data, one per line: a superset of what a search
-- reads (the module's string fields). Immutable, so that an index can hold it.
create function record_search_text(data jsonb) returns text
  -- The cost tells the planner what reading a whole record costs, so that it prefers the index
  -- to filtering every record of a module through this function.
  language sql immutable strict parallel safe cost 10000
  as $$ select coalesce(string_agg(value #>> '{}', E'\n'), '') from jsonb_each(data) where jsonb_typeof(value) = 'string' $$;

create index records_search_idx on records using gin (record_search_text(data) gin_trgm_ops);

-- The size of the record's data as the API sends it, near enough: a page stops before it
-- outgrows its byte budget without reading the data of the rows it leaves out.
alter table records add column data_bytes integer generated always as (octet_length(data::text)) stored;
