-- Wakes webhook workers when a delivery becomes due now: a new one from the outbox, or one a
-- manual retry brings forward. Workers LISTEN on 'charter_webhooks' (packages/server/src/webhooks/
-- worker.ts) and otherwise sleep until the next delivery falls due. A notification is sent at
-- commit only, so a rolled-back change wakes no one, and PostgreSQL folds the identical ones of a
-- transaction into one. Rows a worker reschedules into the future or finishes notify nobody.
create function webhook_deliveries_notify() returns trigger
language plpgsql as $$
begin
  perform pg_notify('charter_webhooks', '');
  return null;
end;
$$;

create trigger webhook_deliveries_due
after insert or update of next_attempt_at, status on webhook_deliveries
for each row
when (new.status in ('pending', 'retrying') and new.next_attempt_at <= now())
execute function webhook_deliveries_notify();
