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

/**
 * What a module lets the API do with its records, one name per endpoint: list and create on
 * `/modules/{module_id}/records`, get, update and delete on `/modules/{module_id}/records/{record_id}`.
 */
export const RECORD_METHODS = ['list', 'get', 'create', 'update', 'delete'] as const;
export type RecordMethod = (typeof RECORD_METHODS)[number];

export const RecordMethodSchema = z.enum(RECORD_METHODS).meta({
  id: 'RecordMethod',
  description: 'A records endpoint of a module: list, get, create, update or delete.',
  example: 'list',
});

const apiEnabled = z.boolean().meta({
  description: 'Whether the module\'s records are served at all. When false, every records endpoint of the module answers 404 (the module itself stays visible under `/modules`).',
  example: true,
});
// A repeat is refused, as a field declared twice is: the list is a set, returned in RECORD_METHODS order.
const apiMethods = z
  .array(RecordMethodSchema)
  .max(RECORD_METHODS.length)
  .superRefine((methods, ctx) => {
    const seen = new Set<string>();
    methods.forEach((method, index) => {
      if (seen.has(method)) ctx.addIssue({ code: 'custom', path: [index], message: `Method "${method}" is named twice.` });
      seen.add(method);
    });
  })
  .meta({
    description:
      'The records endpoints the module serves, each named once. Any other records endpoint answers 405 with an `Allow` header listing the methods still served on its path (`GET`, `POST` on the collection; `GET`, `PATCH`, `DELETE` on a record).',
    example: ['list', 'get'],
    uniqueItems: true,
  });

const moduleName = z.string().trim().min(1).max(100).regex(NAME_TEXT, NAME_TEXT_MESSAGE).meta({ description: 'Unique within the workspace.', example: 'Contacts' });
const moduleDescription = z.string().max(1000).regex(NO_NUL, NO_NUL_MESSAGE).meta({ example: 'People we talk to.' });

export const Module = z
  .object({
    id: ModuleId,
    name: z.string(),
    description: z.string().nullable(),
    fields: z.array(ModuleField),
    api_enabled: apiEnabled,
    api_methods: z.array(RecordMethodSchema).meta({
      description: 'The records endpoints the module serves (list, get, create, update, delete); the others answer 405 with `Allow`.',
      example: [...RECORD_METHODS],
    }),
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
      api_enabled: true,
      api_methods: [...RECORD_METHODS],
      created_at: '2026-11-22T08:15:30.123Z',
      updated_at: '2026-11-22T08:15:30.123Z',
    },
  });
export type Module = z.output<typeof Module>;

export const MODULE_SORTABLE = ['created_at', 'updated_at', 'name', 'id'] as const;
export const MODULE_FIELDS = ['id', 'name', 'description', 'fields', 'api_enabled', 'api_methods', 'created_at', 'updated_at'] as const;

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
  description:
    'Creates a module with typed fields. Its records are validated against those fields. `api_enabled` and `api_methods` choose which of its records endpoints the API serves (all, by default).',
  scopes: ['modules:write'],
  successStatus: 201,
  idempotent: true,
  input: z
    .object({
      name: moduleName,
      description: moduleDescription.optional(),
      fields: fieldList.default([]),
      // Optional rather than defaulted here, so that generators which make defaulted properties
      // required (openapi-typescript's default) do not ask every caller for them: the handler fills them in.
      api_enabled: apiEnabled.optional().meta({ description: `${apiEnabled.description} Default: true.` }),
      api_methods: apiMethods.optional().meta({ description: `${apiMethods.description} Default: all five.` }),
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
    'Changes a module\'s name or description, adds fields, or changes which records endpoints it serves. `fields`, when given, is the whole new list: existing fields must keep their type, and a new required field can only be added while the module has no records (409 otherwise). `api_methods`, when given, is the whole new list of records endpoints served; `api_enabled: false` hides the records altogether (404) until it is set back to true.',
  scopes: ['modules:write'],
  successStatus: 200,
  idempotent: true,
  input: z
    .object({
      module_id: ModuleId,
      name: moduleName.optional(),
      description: moduleDescription.nullable().optional(),
      fields: fieldList.optional(),
      api_enabled: apiEnabled.optional(),
      api_methods: apiMethods.optional(),
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
