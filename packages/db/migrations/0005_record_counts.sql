-- Each module's number of records, kept with the rows, so that a page of an unfiltered record list
-- reads a handful of counter rows instead of counting the whole module.
--
-- One counter row per module would serialise every concurrent create into a module on that row's
-- lock. Instead each transaction adds to one of 16 shards, chosen by its transaction ID, and a
-- read sums the shards. Transactions that run at the same time have neighbouring IDs, so they
-- mostly take different rows; and a transaction takes the same row of a module in every
-- statement, so that two transactions writing one module never each hold a row the other waits
-- for (modules are taken in ID order within a statement for the same reason). A shard may go below zero (a record created on one shard, deleted on
-- another); only the sum means anything.
--
-- No foreign key to modules: inserting a counter row would then lock the module's row, and a
-- record delete racing its module's delete could deadlock with it. The counters of a deleted
-- module are deleted by a trigger on modules instead.
create table record_counts (
  module_id  text not null,
  shard      smallint not null,
  count      bigint not null,
  primary key (module_id, shard)
);

-- Statement triggers with transition tables: a statement that writes many records (a bulk
-- insert, a seed) updates each counter once, not once per row.
create function record_counts_add() returns trigger
  language plpgsql
  as $$
  begin
    insert into record_counts (module_id, shard, count)
    select module_id, (txid_current() % 16)::smallint, count(*) from added group by module_id order by module_id
    on conflict (module_id, shard) do update set count = record_counts.count + excluded.count;
    return null;
  end
  $$;

create function record_counts_remove() returns trigger
  language plpgsql
  as $$
  begin
    -- Records deleted because their module is (a module or workspace delete cascading): the
    -- module's counters go with it, and counting them would insert a row for a module that is gone.
    insert into record_counts (module_id, shard, count)
    select removed.module_id, (txid_current() % 16)::smallint, -count(*) from removed
    where exists (select 1 from modules where modules.id = removed.module_id)
    group by removed.module_id order by removed.module_id
    on conflict (module_id, shard) do update set count = record_counts.count + excluded.count;
    return null;
  end
  $$;

create function record_counts_drop() returns trigger
  language plpgsql
  as $$
  begin
    delete from record_counts where module_id in (select id from dropped);
    return null;
  end
  $$;

create trigger records_counted_on_insert after insert on records
  referencing new table as added for each statement execute function record_counts_add();
create trigger records_counted_on_delete after delete on records
  referencing old table as removed for each statement execute function record_counts_remove();
create trigger record_counts_dropped_with_module after delete on modules
  referencing old table as dropped for each statement execute function record_counts_drop();

-- A record never moves to another module; the counters rely on it.
create function records_module_fixed() returns trigger
  language plpgsql
  as $$
  begin
    raise exception 'a record cannot move to another module';
  end
  $$;
create trigger records_module_fixed before update of module_id on records
  for each row when (old.module_id is distinct from new.module_id) execute function records_module_fixed();

insert into record_counts (module_id, shard, count)
select module_id, 0, count(*) from records group by module_id;
