-- The claim's caller sends the call's first statements right behind it, before it knows whether
-- the call may run (see IdempotencyStore.runOnce): when it may not (another session holds the key,
-- or a reply is stored), that work is rolled back unseen. So that it never waits on a lock meanwhile
-- (the in-flight call's rows, say), the claim then sets the transaction's lock_timeout to 1 ms:
-- such a statement fails at once instead, and the work is thrown away all the same.
create or replace function idempotency_claim(p_key_id text, p_idempotency_key text, p_lock_high int4, p_lock_low int4, p_idle_ms text)
  returns table (locked boolean, fingerprint bytea, status integer, response_body text, response_headers jsonb, expired boolean, held boolean)
  language plpgsql
  volatile
  as $$
  declare
    stored idempotency_keys%rowtype;
  begin
    locked := pg_try_advisory_xact_lock(p_lock_high, p_lock_low);
    -- A process that hangs (rather than dies) holding the lock loses its session, and so the lock.
    perform set_config('idle_in_transaction_session_timeout', p_idle_ms, true);
    -- Its own statement, so its own snapshot: it sees a reply committed before the lock was taken.
    select * into stored from idempotency_keys k where k.key_id = p_key_id and k.idempotency_key = p_idempotency_key;
    if found then
      fingerprint := stored.fingerprint;
      status := stored.status;
      response_body := stored.response_body;
      response_headers := stored.response_headers;
      expired := stored.expires_at <= now();
      held := coalesce(stored.locked_until > now(), false);
    end if;
    -- The call will not run: a stored reply answers it, or it is in flight elsewhere.
    if not locked or (found and not expired and (status is not null or held)) then
      perform set_config('lock_timeout', '1ms', true);
    end if;
    return next;
  end
  $$;
