-- The idempotency claim as one statement: a call takes its (key ID, Idempotency-Key) pair's
-- transaction-scoped advisory lock without waiting, bounds how long its transaction may sit idle,
-- and reads the stored reply. The read must see any reply committed before the lock was taken,
-- so it cannot share the lock's statement snapshot: in a VOLATILE function each statement takes a
-- new snapshot (READ COMMITTED), so the read inside it comes after the lock. One row always: the
-- stored record's columns are null when there is none.
create or replace function idempotency_claim(p_key_id text, p_idempotency_key text, p_lock_high int4, p_lock_low int4, p_idle_ms text)
  returns table (locked boolean, fingerprint bytea, status integer, response_body text, response_headers jsonb, expired boolean, held boolean)
  language plpgsql
  volatile
  as $$
  begin
    locked := pg_try_advisory_xact_lock(p_lock_high, p_lock_low);
    -- A process that hangs (rather than dies) holding the lock loses its session, and so the lock.
    perform set_config('idle_in_transaction_session_timeout', p_idle_ms, true);
    return query
      select locked, k.fingerprint, k.status, k.response_body, k.response_headers,
             k.expires_at <= now(), coalesce(k.locked_until > now(), false)
      from idempotency_keys k
      where k.key_id = p_key_id and k.idempotency_key = p_idempotency_key;
    if not found then
      return query select locked, null::bytea, null::integer, null::text, null::jsonb, null::boolean, null::boolean;
    end if;
  end
  $$;
