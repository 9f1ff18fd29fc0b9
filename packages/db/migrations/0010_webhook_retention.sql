-- What the retention purge (packages/server/src/maintenance/retention.ts) reads to find webhook
-- data past its retention: finished deliveries by the time they finished (their last update: a
-- finished delivery is never changed again), and events by their age. Partial, so that the index
-- holds only the finished deliveries and costs the worker's claims and updates of live ones nothing.
create index if not exists webhook_deliveries_finished_idx on webhook_deliveries (updated_at)
  where status in ('success', 'failed');
create index if not exists webhook_events_created_idx on webhook_events (created_at);
