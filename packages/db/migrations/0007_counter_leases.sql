-- Key counters are leased in blocks: a server process takes several tokens from a key's minute
-- (and day) counter in one statement and admits locally while they last (packages/server/src/limits/).
-- count is then the tokens taken in the window: requests admitted plus tokens a process still holds.
-- lease: the tokens the latest statement took, so that the statement that took them can return it.
-- writes: statements that changed the row (leases and give-backs): writes ÷ requests admitted is the
-- counter's database cost per admission.
alter table rate_limit_counters
  add column lease integer not null default 0,
  add column writes integer not null default 0;
