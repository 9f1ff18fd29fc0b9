-- The headers that belong to a stored idempotent reply (`Allow` on a 405, say), replayed with its
-- status and body, as Stripe replays the whole response. Headers each request gets anew
-- (X-Request-ID, the rate-limit fields, Link, CORS) are not stored.
-- Nullable without a default: PostgreSQL adds it without rewriting the table or holding its lock
-- for long, so it is safe on a live table; rows stored before it (null) replay no headers, as before.
alter table idempotency_keys add column if not exists response_headers jsonb;
