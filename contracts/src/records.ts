import { z } from 'zod';
import { defineEndpoint } from './endpoint.ts';
import { idSchema } from './ids.ts';
import { ModuleId } from './modules.ts';
import { listEnvelope, listQuery, updatedFilters } from './pagination.ts';
import { NO_NUL, NO_NUL_MESSAGE } from './text.ts';

const timestamp = z.iso.datetime().meta({ example: '2026-11-22T08:15:30.123Z' });

export const RecordId = idSchema('record').meta({ description: 'The record ID.' });

/** Largest record `data`, in bytes of its JSON (UTF-8): beyond it, create and update answer 422. */
export const MAX_RECORD_DATA_BYTES = 256 * 1024;
/**
 * A page of records holds at most `limit` records and stops early, with `has_more` and
 * `next_cursor`, before their data passes this many bytes; it always holds at least one record.
 */
export const MAX_RECORD_PAGE_BYTES = 2 * 1024 * 1024;

const recordData = z.record(z.string(), z.unknown()).meta({
  description: `Field values, checked against the module's fields; at most ${MAX_RECORD_DATA_BYTES} bytes of JSON.`,
  example: { email: 'ada@example.com' },
});

export const ModuleRecord = z
  .object({
    id: RecordId,
    module_id: ModuleId,
    data: recordData,
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({
    id: 'Record',
    description: 'One entry of a module.',
    example: {
      id: 'rec_01jd8x3k5q9v2m7n4p6r8t0w1y',
      module_id: 'mod_01jd8x3k5q9v2m7n4p6r8t0w1y',
      data: { email: 'ada@example.com' },
      created_at: '2026-11-22T08:15:30.123Z',
      updated_at: '2026-11-22T08:15:30.123Z',
    },
  });
export type ModuleRecord = z.output<typeof ModuleRecord>;

export const RECORD_SORTABLE = ['created_at', 'updated_at', 'id'] as const;
export const RECORD_FIELDS = ['id', 'module_id', 'data', 'created_at', 'updated_at'] as const;

const filterText = z.string().max(500).regex(NO_NUL, NO_NUL_MESSAGE);
/**
 * Filters arrive as one object, field → value (or values, when a field is named more than once: each
 * must match, as with several fields); the server checks names and types against the module.
 */
const recordFilter = z
  .preprocess((value) => value, z.record(z.string().max(63), z.union([filterText, z.array(filterText).max(20)])))
  .optional()
  .meta({
    description: 'Exact match on a module field: `filter=status:open` (or `filter[status]=open`). Several filters combine with AND.',
  });

export const listRecords = defineEndpoint({
  operationId: 'listRecords',
  method: 'GET',
  path: '/modules/{module_id}/records',
  tags: ['Records'],
  summary: 'List records',
  description:
    `Lists a module's records, newest first by default, with filters on their fields and full-text search. A page stops early, ` +
    `with \`has_more\` and \`next_cursor\`, before its records' data passes ${MAX_RECORD_PAGE_BYTES} bytes: follow \`next_cursor\` ` +
    '(page numbers count `limit` records per page and would skip the rest of a shortened page).',
  scopes: ['records:read'],
  scopeTarget: 'module_id',
  successStatus: 200,
  idempotent: false,
  input: listQuery({ sortable: RECORD_SORTABLE, fields: RECORD_FIELDS, defaultSort: '-created_at' }).extend({
    ...updatedFilters,
    module_id: ModuleId,
    search: z.string().min(1).max(200).regex(NO_NUL, NO_NUL_MESSAGE).meta({ description: 'Case-insensitive substring of any string field.' }).optional(),
    filter: recordFilter,
  }),
  output: listEnvelope(ModuleRecord, 'RecordList'),
  errors: [404, 405, 422],
  list: { sortable: RECORD_SORTABLE, fields: RECORD_FIELDS },
});

export const createRecord = defineEndpoint({
  operationId: 'createRecord',
  method: 'POST',
  path: '/modules/{module_id}/records',
  tags: ['Records'],
  summary: 'Create a record',
  description: 'Creates a record; `data` must satisfy the module\'s fields (422 lists each offending field).',
  scopes: ['records:write'],
  scopeTarget: 'module_id',
  successStatus: 201,
  idempotent: true,
  input: z.object({ module_id: ModuleId, data: recordData }).meta({ example: { data: { email: 'ada@example.com' } } }),
  output: ModuleRecord,
  errors: [400, 404, 405, 413, 415, 422],
});

export const getRecord = defineEndpoint({
  operationId: 'getRecord',
  method: 'GET',
  path: '/modules/{module_id}/records/{record_id}',
  tags: ['Records'],
  summary: 'Get a record',
  description: 'Returns one record.',
  scopes: ['records:read'],
  scopeTarget: 'module_id',
  successStatus: 200,
  idempotent: false,
  input: z.object({ module_id: ModuleId, record_id: RecordId }),
  output: ModuleRecord,
  errors: [404, 405, 422],
});

export const updateRecord = defineEndpoint({
  operationId: 'updateRecord',
  method: 'PATCH',
  path: '/modules/{module_id}/records/{record_id}',
  tags: ['Records'],
  summary: 'Update a record',
  description: 'Merges `data` into the record: given fields are replaced, `null` removes a field. The result must satisfy the module\'s fields.',
  scopes: ['records:write'],
  scopeTarget: 'module_id',
  successStatus: 200,
  idempotent: true,
  input: z
    .object({ module_id: ModuleId, record_id: RecordId, data: recordData })
    .meta({ example: { data: { email: 'ada@lovelace.dev' } } }),
  output: ModuleRecord,
  errors: [400, 404, 405, 413, 415, 422],
});

export const deleteRecord = defineEndpoint({
  operationId: 'deleteRecord',
  method: 'DELETE',
  path: '/modules/{module_id}/records/{record_id}',
  tags: ['Records'],
  summary: 'Delete a record',
  description: 'Deletes one record.',
  scopes: ['records:delete'],
  scopeTarget: 'module_id',
  successStatus: 204,
  idempotent: true,
  input: z.object({ module_id: ModuleId, record_id: RecordId }),
  output: z.void(),
  errors: [400, 404, 405, 422],
});
