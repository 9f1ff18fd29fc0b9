import { type Module, type ModuleField, RECORD_METHODS, type RecordMethod } from '@charter/contracts';
import { type Queryable, type TransactionSql, transaction } from '@charter/db';
import { ApiError, notFound, validationFailed } from '../errors.ts';
import { newId } from '../ids.ts';
import { servePage } from '../lists.ts';
import { q } from '../sql-text.ts';
import { recordEvent } from '../webhooks/outbox.ts';
import { iso } from './serialize.ts';
import type { Handler } from './types.ts';

interface ModuleRow {
  id: string;
  name: string;
  description: string | null;
  fields: ModuleField[];
  api_enabled: boolean;
  api_methods: RecordMethod[];
  created_at: Date;
  updated_at: Date;
}

export function toModule(row: ModuleRow): Module {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    fields: row.fields,
    api_enabled: row.api_enabled,
    api_methods: row.api_methods,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/** Loads a module of the caller's workspace; another workspace's module is simply not found. */
export async function findModule(sql: Queryable, workspaceId: string, moduleId: string, lock = false): Promise<ModuleRow> {
  const [row] = lock
    ? await sql<ModuleRow[]>`select * from modules where id = ${moduleId} and workspace_id = ${workspaceId} for update`
    : await sql<ModuleRow[]>`select * from modules where id = ${moduleId} and workspace_id = ${workspaceId}`;
  if (!row) throw notFound('Module');
  return row;
}

/** The records endpoints a module serves, stored and shown in one order whatever order they came in. */
const inOrder = (methods: readonly RecordMethod[]): RecordMethod[] => RECORD_METHODS.filter((method) => methods.includes(method));

const isUniqueViolation = (error: unknown) => (error as { code?: string })?.code === '23505';
const nameTaken = (name: string) => new ApiError('conflict', `A module named "${name}" already exists in this workspace.`);

export const listModules: Handler<'listModules'> = async (ctx, input) => {
  const { principal } = ctx;
  const where = [q`workspace_id = ${principal.workspaceId}`];
  if (input.search) where.push(q`name ilike ${`%${escapeLike(input.search)}%`}`);
  const sortTypes = { created_at: 'timestamptz', updated_at: 'timestamptz', name: 'text', id: 'text' } as const;
  return servePage(ctx, { table: 'modules', where, sortTypes }, input, (row: ModuleRow & Record<string, unknown>) => toModule(row));
};

export const createModule: Handler<'createModule'> = async (ctx, input) => {
  const { principal } = ctx;
  try {
    return await transaction(ctx.sql, async (sql) => {
      const [row] = await sql<ModuleRow[]>`
        insert into modules (id, workspace_id, name, description, fields, api_enabled, api_methods)
        values (${newId('module')}, ${principal.workspaceId}, ${input.name}, ${input.description ?? null}, ${sql.json(input.fields)},
                ${input.api_enabled ?? true}, ${inOrder(input.api_methods ?? RECORD_METHODS)})
        returning *`;
      const module = toModule(row as ModuleRow);
      await recordEvent(sql, principal.workspaceId, 'module.created', module);
      return module;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken(input.name);
    throw error;
  }
};

export const getModule: Handler<'getModule'> = async ({ sql, principal }, input) =>
  toModule(await findModule(sql, principal.workspaceId, input.module_id));

/**
 * Field changes keep existing records valid: a field keeps its type, and a new required field
 * can only appear while there are no records to lack it.
 */
async function checkFieldChange(tx: TransactionSql, current: ModuleRow, next: ModuleField[]): Promise<void> {
  const errors: Record<string, string[]> = {};
  const nextByName = new Map(next.map((field) => [field.name, field]));
  current.fields.forEach((field) => {
    const replacement = nextByName.get(field.name);
    if (!replacement) {
      errors.fields = [...(errors.fields ?? []), `Field "${field.name}" cannot be removed.`];
    } else if (replacement.type !== field.type) {
      errors.fields = [...(errors.fields ?? []), `Field "${field.name}" cannot change type from ${field.type} to ${replacement.type}.`];
    } else if (replacement.required && !field.required) {
      errors.fields = [...(errors.fields ?? []), `Field "${field.name}" cannot become required.`];
    }
  });
  if (Object.keys(errors).length > 0) throw validationFailed(errors);
  const existing = new Set(current.fields.map((field) => field.name));
  const newRequired = next.filter((field) => field.required && !existing.has(field.name));
  if (newRequired.length > 0) {
    const [found] = await tx`select 1 from records where module_id = ${current.id} limit 1`;
    if (found) {
      throw new ApiError('conflict', `Cannot add required field "${newRequired[0]?.name}": the module already has records without it.`);
    }
  }
}

export const updateModule: Handler<'updateModule'> = async ({ sql, principal }, input) => {
  try {
    return await transaction(sql, async (tx) => {
      const current = await findModule(tx, principal.workspaceId, input.module_id, true);
      if (input.fields) await checkFieldChange(tx, current, input.fields);
      const [row] = await tx<ModuleRow[]>`
        update modules set
          name = ${input.name ?? current.name},
          description = ${input.description === undefined ? current.description : input.description},
          fields = ${tx.json(input.fields ?? current.fields)},
          api_enabled = ${input.api_enabled ?? current.api_enabled},
          api_methods = ${input.api_methods ? inOrder(input.api_methods) : current.api_methods},
          updated_at = now()
        where id = ${current.id}
        returning *`;
      const module = toModule(row as ModuleRow);
      await recordEvent(tx, principal.workspaceId, 'module.updated', module);
      return module;
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken(input.name ?? '');
    throw error;
  }
};

export const deleteModule: Handler<'deleteModule'> = async (ctx, input) =>
  transaction(ctx.sql, async (sql) => {
    const { principal } = ctx;
    const [row] = await sql<ModuleRow[]>`delete from modules where id = ${input.module_id} and workspace_id = ${principal.workspaceId} returning *`;
    if (!row) throw notFound('Module');
    await recordEvent(sql, principal.workspaceId, 'module.deleted', toModule(row));
  });

export function escapeLike(term: string): string {
  return term.replace(/[\\%_]/g, (char) => `\\${char}`);
}
