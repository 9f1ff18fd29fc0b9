import { MAX_RECORD_PAGE_BYTES, type ModuleField, type ModuleRecord } from '@charter/contracts';
import { transaction } from '@charter/db';
import { notFound, validationFailed } from '../errors.ts';
import { newId } from '../ids.ts';
import { servePage } from '../lists.ts';
import { join, q } from '../sql-text.ts';
import { isStorable } from '../storable.ts';
import { recordEvent, subscribedEndpoints } from '../webhooks/outbox.ts';
import { assertExposed, type Exposure, requireExposed } from './exposure.ts';
import { escapeLike, findModule } from './modules.ts';
import { filterValue, isInsertable, validateRecordData } from './record-data.ts';
import { iso } from './serialize.ts';
import type { Handler } from './types.ts';

interface RecordRow {
  id: string;
  module_id: string;
  data: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

function toRecord(row: RecordRow): ModuleRecord {
  return {
    id: row.id,
    module_id: row.module_id,
    data: row.data,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/**
 * The JSON values a `filter` value can stand for, whatever its field's type: the value itself as
 * text (a string or date field), and as a number and as a boolean where it reads as one. A
 * record's value always has its field's type, so matching any of them matches exactly what the
 * typed value matches; the type is checked once the statement has read the module.
 */
function filterCandidates(raw: string): unknown[] {
  const candidates: unknown[] = [];
  for (const type of ['string', 'number', 'boolean'] as const) {
    const parsed = filterValue({ name: '', type, required: false }, raw);
    if ('value' in parsed) candidates.push(parsed.value);
  }
  return candidates;
}

/** The 422 for filters the module rules out (unknown fields, values not of the field's type); none when all fit. */
function checkFilters(fields: readonly ModuleField[], filter: Record<string, string | string[]>): void {
  const errors: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(filter)) {
    const field = fields.find((candidate) => candidate.name === name);
    if (!field) {
      errors[`filter[${name}]`] = [`Unknown field "${name}". Filterable fields: ${fields.map((f) => f.name).join(', ') || 'none'}.`];
      continue;
    }
    for (const raw of new Set(typeof values === 'string' ? [values] : values)) {
      const parsed = filterValue(field, raw);
      if ('error' in parsed) errors[`filter[${name}]`] = [`The filter on ${name} ${parsed.error}.`];
    }
  }
  if (Object.keys(errors).length > 0) throw validationFailed(errors);
}

/**
 * One statement after admission: the module (in the caller's workspace, else 404), the page and
 * its total. Filters and search are written without the module's field types, which the
 * statement reads: the filters are checked against them afterwards (422, the page unused).
 */
export const listRecords: Handler<'listRecords'> = async (ctx, input) => {
  const { sql, principal } = ctx;
  const filter = input.filter ?? {};
  const where = [q`workspace_id = ${principal.workspaceId}`, q`module_id = ${input.module_id}`];
  for (const [name, values] of Object.entries(filter)) {
    for (const raw of new Set(typeof values === 'string' ? [values] : values)) {
      // A name PostgreSQL cannot store is no field's: the filter is refused once the module is read.
      const matches = isStorable(name) ? filterCandidates(raw).map((value) => q`data @> ${sql.json({ [name]: value } as Record<string, string>)}`) : [];
      where.push(matches.length === 0 ? q`false` : q`(${join(matches, ' or ')})`);
    }
  }
  if (input.search) {
    const pattern = `%${escapeLike(input.search)}%`;
    // The module's string fields, read in the same statement (and in its snapshot).
    const textFields = q`select field->>'name' from modules, jsonb_array_elements(modules.fields) as field
      where modules.id = ${input.module_id} and field->>'type' = 'string'`;
    // The trigram index over all of a record's string values (migration 0003) finds the
    // candidates; the last condition keeps those whose match is in one of the module's string
    // fields. The first, not correlated, is checked once: a module without string fields reads no record.
    where.push(
      q`exists (${textFields}) and record_search_text(data) ilike ${pattern}
        and exists (select 1 from jsonb_each_text(data) as entry where entry.key in (${textFields}) and entry.value ilike ${pattern})`,
    );
  }
  const filtered = Object.keys(filter).length > 0;
  const parent = {
    row: filtered
      ? q`select id, api_enabled, api_methods, fields from modules where id = ${input.module_id} and workspace_id = ${principal.workspaceId}`
      : q`select id, api_enabled, api_methods from modules where id = ${input.module_id} and workspace_id = ${principal.workspaceId}`,
    check: (module: Record<string, unknown> | undefined) => {
      if (!module) throw notFound('Module');
      assertExposed(module as unknown as Exposure, 'list');
      if (filtered) checkFilters(module.fields as ModuleField[], filter);
    },
  };
  // Without filter or search, the total is the module's kept count (migration 0005).
  const keptTotal =
    filtered || input.search ? undefined : q`(select coalesce(sum(count), 0)::int from record_counts where module_id = ${input.module_id})`;
  const sortTypes = { created_at: 'timestamptz', updated_at: 'timestamptz', id: 'text' } as const;
  const pageBytes = { column: 'data_bytes', budget: MAX_RECORD_PAGE_BYTES };
  return servePage(ctx, { table: 'records', where, sortTypes, pageBytes, parent, ...(keptTotal ? { keptTotal } : {}) }, input, (row: RecordRow & Record<string, unknown>) =>
    toRecord(row),
  );
};

/**
 * One statement after the idempotency claim: the module, the new record and the endpoints to tell.
 * The insert goes out before the module's checks (exposure, fields), which read the module the
 * statement returns: a record they refuse is rolled back with the call's transaction. Data
 * PostgreSQL could not take at all (over the size bound, U+0000 or a lone surrogate) is not sent,
 * and the same checks refuse it.
 */
export const createRecord: Handler<'createRecord'> = async ({ sql: pool, principal }, input) =>
  transaction(pool, async (sql) => {
    // Serialised once: for the size check, the insert and the module's checks.
    const json = JSON.stringify(input.data);
    const insertable = isInsertable(input.data, json);
    const [row] = await sql<CreatedRow[]>`
      with module as (
        select id, fields, api_enabled, api_methods from modules where id = ${input.module_id} and workspace_id = ${principal.workspaceId}
      ),
      inserted as (
        insert into records (id, workspace_id, module_id, data)
        select ${newId('record')}, ${principal.workspaceId}, module.id, ${insertable ? json : null}::text::jsonb
        from module where ${insertable}
        returning id, module_id, data, created_at, updated_at
      )
      select module.fields, module.api_enabled, module.api_methods, inserted.*,
             (${subscribedEndpoints(sql, principal.workspaceId, 'record.created')}) as subscribed
      from module left join inserted on true`;
    if (!row) throw notFound('Module');
    assertExposed({ id: input.module_id, api_enabled: row.api_enabled, api_methods: row.api_methods }, 'create');
    validateRecordData(row.fields, input.data, json);
    if (row.id === null) throw new Error('createRecord: data its checks accept was not inserted');
    const record = toRecord(row);
    await recordEvent(sql, principal.workspaceId, 'record.created', record, row.subscribed);
    return record;
  });

/** The module's checks and its subscribed endpoints beside the record the statement inserted, or nulls when it inserted none. */
type CreatedRow = Omit<Exposure, 'id'> & { fields: ModuleField[]; subscribed: string[] } & (RecordRow | { [K in keyof RecordRow]: null });

export const getRecord: Handler<'getRecord'> = async ({ sql, principal }, input) => {
  // One statement: the module's exposure, and the record when there is one.
  const [row] = await sql<(Omit<Exposure, 'id'> & (RecordRow | { [K in keyof RecordRow]: null }))[]>`
    select m.api_enabled, m.api_methods, r.id, r.module_id, r.data, r.created_at, r.updated_at
    from modules m
    left join records r on r.id = ${input.record_id} and r.module_id = m.id and r.workspace_id = m.workspace_id
    where m.id = ${input.module_id} and m.workspace_id = ${principal.workspaceId}`;
  if (!row) throw notFound('Module');
  assertExposed({ id: input.module_id, api_enabled: row.api_enabled, api_methods: row.api_methods }, 'get');
  if (row.id === null) throw notFound('Record');
  return toRecord(row);
};

export const updateRecord: Handler<'updateRecord'> = async ({ sql, principal }, input) =>
  transaction(sql, async (tx) => {
    const module = await findModule(tx, principal.workspaceId, input.module_id);
    assertExposed(module, 'update');
    const [current] = await tx<RecordRow[]>`
      select id, module_id, data, created_at, updated_at from records
      where id = ${input.record_id} and module_id = ${module.id} and workspace_id = ${principal.workspaceId}
      for update`;
    if (!current) throw notFound('Record');
    const merged: Record<string, unknown> = { ...current.data };
    for (const [key, value] of Object.entries(input.data)) {
      if (value === null) delete merged[key];
      else merged[key] = value;
    }
    validateRecordData(module.fields, merged);
    const [row] = await tx<RecordRow[]>`
      update records set data = ${tx.json(merged as Record<string, string>)}, updated_at = now()
      where id = ${current.id}
      returning id, module_id, data, created_at, updated_at`;
    const record = toRecord(row as RecordRow);
    await recordEvent(tx, principal.workspaceId, 'record.updated', record);
    return record;
  });

export const deleteRecord: Handler<'deleteRecord'> = async ({ sql: pool, principal }, input) =>
  transaction(pool, async (sql) => {
    await requireExposed(sql, principal.workspaceId, input.module_id, 'delete');
    const [row] = await sql<RecordRow[]>`
      delete from records
      where id = ${input.record_id} and module_id = ${input.module_id} and workspace_id = ${principal.workspaceId}
      returning id, module_id, data, created_at, updated_at`;
    if (!row) throw notFound('Record');
    await recordEvent(sql, principal.workspaceId, 'record.deleted', toRecord(row));
  });
