import { z } from 'zod';
import { defineEndpoint } from './endpoint.ts';
import { idSchema } from './ids.ts';
import { listEnvelope, listQuery, updatedFilters } from './pagination.ts';
import { NAME_TEXT, NAME_TEXT_MESSAGE, NO_NUL, NO_NUL_MESSAGE } from './text.ts';

export const FIELD_TYPES = ['string', 'number', 'boolean', 'date', 'json'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

export const FieldTypeSchema = z.enum(FIELD_TYPES).meta({
  id: 'FieldType',
  description:
    'string, number, boolean, date (an ISO 8601 date `2026-11-22` or date-time with `Z` or an offset up to ±23:59, on a day that exists in the years 0001–9999) or json (any JSON value).',
  example: 'string',
});

const timestamp = z.iso.datetime().meta({ example: '2026-11-22T08:15:30.123Z' });

export const ModuleId = idSchema('module').meta({ description: 'The module ID.' });

// Strict: an unknown key inside a field is refused (422) like one at the top of a body, never dropped.
export const ModuleField = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,62}$/, 'Must start with a lowercase letter and contain only a-z, 0-9 and _ (at most 63).')
      .meta({ description: 'Field name, snake_case.', example: 'email' }),
    type: FieldTypeSchema,
    required: z.boolean().default(false).meta({ description: 'Whether every record must have this field.' }),
    description: z.string().max(500).regex(NO_NUL, NO_NUL_MESSAGE).optional().meta({ description: 'What the field holds.' }),
  })
  // Named for responses; the request form (where `required` may be left out) is ModuleFieldInput.
  .meta({ id: 'ModuleFieldInput', outputId: 'ModuleField', description: 'One typed field of a module\'s records.' });

export type ModuleField = z.output<typeof ModuleField>;

const fieldList = z
  .array(ModuleField)
  .max(100)
  .superRefine((fields, ctx) => {
    const seen = new Set<string>();
    fields.forEach((field, index) => {
      if (seen.has(field.name)) {
        ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `Field "${field.name}" is declared twice.` });
      }
      seen.add(field.name);
    });
  });

const moduleName = z.string().trim().min(1).max(100).regex(NAME_TEXT, NAME_TEXT_MESSAGE).meta({ description: 'Unique within the workspace.', example: 'Contacts' });
const moduleDescription = z.string().max(1000).regex(NO_NUL, NO_NUL_MESSAGE).meta({ example: 'People we talk to.' });

export const Module = z
  .object({
    id: ModuleId,
    name: z.string(),
    description: z.string().nullable(),
    fields: z.array(ModuleField),
    created_at: timestamp,
    updated_at: timestamp,
  })
  .meta({
    id: 'Module',
    description: 'A collection of records that share typed fields.',
    example: {
      id: 'mod_01jd8x3k5q9v2m7n4p6r8t0w1y',
      name: 'Contacts',
      description: 'People we talk to.',
      fields: [{ name: 'email', type: 'string', required: true }],
      created_at: '2026-11-22T08:15:30.123Z',
      updated_at: '2026-11-22T08:15:30.123Z',
    },
  });
export type Module = z.output<typeof Module>;

export const MODULE_SORTABLE = ['created_at', 'updated_at', 'name', 'id'] as const;
export const MODULE_FIELDS = ['id', 'name', 'description', 'fields', 'created_at', 'updated_at'] as const;

export const listModules = defineEndpoint({
  operationId: 'listModules',
  method: 'GET',
  path: '/modules',
  tags: ['Modules'],
  summary: 'List modules',
  description: 'Lists the workspace\'s modules, newest first by default, with page or cursor pagination.',
  scopes: ['modules:read'],
  successStatus: 200,
  idempotent: false,
  input: listQuery({ sortable: MODULE_SORTABLE, fields: MODULE_FIELDS, defaultSort: '-created_at' }).extend({
    ...updatedFilters,
    search: z.string().min(1).max(200).regex(NO_NUL, NO_NUL_MESSAGE).meta({ description: 'Case-insensitive substring of the name.' }).optional(),
  }),
  output: listEnvelope(Module, 'ModuleList'),
  errors: [422],
  list: { sortable: MODULE_SORTABLE, fields: MODULE_FIELDS },
});

export const createModule = defineEndpoint({
  operationId: 'createModule',
  method: 'POST',
  path: '/modules',
  tags: ['Modules'],
  summary: 'Create a module',
  description: 'Creates a module with typed fields. Its records are validated against those fields.',
  scopes: ['modules:write'],
  successStatus: 201,
  idempotent: true,
  input: z
    .object({
      name: moduleName,
      description: moduleDescription.optional(),
      fields: fieldList.default([]),
    })
    .meta({
      example: { name: 'Contacts', description: 'People we talk to.', fields: [{ name: 'email', type: 'string', required: true }] },
    }),
  output: Module,
  errors: [400, 409, 413, 415, 422],
});

export const getModule = defineEndpoint({
  operationId: 'getModule',
  method: 'GET',
  path: '/modules/{module_id}',
  tags: ['Modules'],
  summary: 'Get a module',
  description: 'Returns one module of the workspace.',
  scopes: ['modules:read'],
  successStatus: 200,
  idempotent: false,
  input: z.object({ module_id: ModuleId }),
  output: Module,
  errors: [404, 422],
});

export const updateModule = defineEndpoint({
  operationId: 'updateModule',
  method: 'PATCH',
  path: '/modules/{module_id}',
  tags: ['Modules'],
  summary: 'Update a module',
  description:
    'Changes a module\'s name or description, or adds fields. `fields`, when given, is the whole new list: existing fields must keep their type, and a new required field can only be added while the module has no records (409 otherwise).',
  scopes: ['modules:write'],
  successStatus: 200,
  idempotent: true,
  input: z
    .object({
      module_id: ModuleId,
      name: moduleName.optional(),
      description: moduleDescription.nullable().optional(),
      fields: fieldList.optional(),
    })
    .meta({ example: { name: 'Customers' } }),
  output: Module,
  errors: [400, 404, 409, 413, 415, 422],
});

export const deleteModule = defineEndpoint({
  operationId: 'deleteModule',
  method: 'DELETE',
  path: '/modules/{module_id}',
  tags: ['Modules'],
  summary: 'Delete a module',
  description: 'Deletes a module and all of its records.',
  scopes: ['modules:delete'],
  successStatus: 204,
  idempotent: true,
  input: z.object({ module_id: ModuleId }),
  output: z.void(),
  errors: [400, 404, 422],
});
