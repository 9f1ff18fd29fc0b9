import { MAX_RECORD_PAGE_BYTES, type ModuleRecord } from '@charter/contracts';
import { transaction } from '@charter/db';
import { notFound, validationFailed } from '../errors.ts';
import { newId } from '../ids.ts';
import { servePage } from '../lists.ts';
import { recordEvent } from '../webhooks/outbox.ts';
import { escapeLike, findModule } from './modules.ts';
import { filterValue, validateRecordData } from './record-data.ts';
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

export const listRecords: Handler<'listRecords'> = async (ctx, input) => {
  const { sql, principal } = ctx;
  const module = await findModule(sql, principal.workspaceId, input.module_id);
  const where = [sql`workspace_id = ${principal.workspaceId}`, sql`module_id = ${module.id}`];
  const errors: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(input.filter ?? {})) {
    const field = module.fields.find((candidate) => candidate.name === name);
    if (!field) {
      errors[`filter[${name}]`] = [`Unknown field "${name}". Filterable fields: ${module.fields.map((f) => f.name).join(', ') || 'none'}.`];
      continue;
    }
    for (const raw of new Set(typeof values === 'string' ? [values] : values)) {
      const parsed = filterValue(field, raw);
      if ('error' in parsed) errors[`filter[${name}]`] = [`The filter on ${name} ${parsed.error}.`];
      else where.push(sql`data @> ${sql.json({ [name]: parsed.value } as Record<string, string>)}`);
    }
  }
  if (Object.keys(errors).length > 0) throw validationFailed(errors);
  if (input.search) {
    const pattern = `%${escapeLike(input.search)}%`;
    const textFields = module.fields.filter((field) => field.type === 'string').map((field) => field.name);
    // The trigram index over all of a record's string values (migration 0003) finds the
    // candidates; the second condition keeps those whose match is in one of the module's string fields.
    where.push(
      textFields.length === 0
        ? sql`false`
        : sql`record_search_text(data) ilike ${pattern}
            and exists (select 1 from jsonb_each_text(data) as entry where entry.key = any(${textFields}) and entry.value ilike ${pattern})`,
    );
  }
  const sortTypes = { created_at: 'timestamptz', updated_at: 'timestamptz', id: 'text' } as const;
  const pageBytes = { column: 'data_bytes', budget: MAX_RECORD_PAGE_BYTES };
  return servePage(ctx, { table: 'records', where, sortTypes, pageBytes }, input, (row: RecordRow & Record<string, unknown>) => toRecord(row));
};

export const createRecord: Handler<'createRecord'> = async ({ sql: pool, principal }, input) =>
  transaction(pool, async (sql) => {
    const module = await findModule(sql, principal.workspaceId, input.module_id);
    validateRecordData(module.fields, input.data);
    const [row] = await sql<RecordRow[]>`
      insert into records (id, workspace_id, module_id, data)
      values (${newId('record')}, ${principal.workspaceId}, ${module.id}, ${sql.json(input.data as Record<string, string>)})
      returning id, module_id, data, created_at, updated_at`;
    const record = toRecord(row as RecordRow);
    await recordEvent(sql, principal.workspaceId, 'record.created', record);
    return record;
  });

export const getRecord: Handler<'getRecord'> = async ({ sql, principal }, input) => {
  const [row] = await sql<RecordRow[]>`
    select id, module_id, data, created_at, updated_at from records
    where id = ${input.record_id} and module_id = ${input.module_id} and workspace_id = ${principal.workspaceId}`;
  if (!row) throw notFound('Record');
  return toRecord(row);
};

export const updateRecord: Handler<'updateRecord'> = async ({ sql, principal }, input) =>
  transaction(sql, async (tx) => {
    const module = await findModule(tx, principal.workspaceId, input.module_id);
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
    const [row] = await sql<RecordRow[]>`
      delete from records
      where id = ${input.record_id} and module_id = ${input.module_id} and workspace_id = ${principal.workspaceId}
      returning id, module_id, data, created_at, updated_at`;
    if (!row) throw notFound('Record');
    await recordEvent(sql, principal.workspaceId, 'record.deleted', toRecord(row));
  });
