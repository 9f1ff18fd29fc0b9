import { z } from 'zod';

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 100;

const isoDateTime = z.iso.datetime({ offset: true });

/** The `pattern` of a comma-separated list of `names`, for the document and the check alike. */
export function commaListPattern(names: readonly string[], signed = false): string {
  const one = `${signed ? '-?' : ''}(${names.join('|')})`;
  return `^${one}(,${one})*$`;
}

/**
 * How many names a \`sort\` or \`fields\` list may hold, repeats counted: more than any list has to
 * choose from (a repeat is taken and ignored), yet a list of one short name sent a thousand times
 * is refused. The document states it as each array's \`maxItems\`.
 */
export const MAX_LIST_NAMES = 20;

/** One sort key: a field name and a direction. */
export interface SortKey {
  field: string;
  direction: 'asc' | 'desc';
}

/**
 * The query every list endpoint takes. Query strings arrive as text, so every number here is
 * parsed explicitly; these schemas are kept apart from the domain schemas on purpose.
 */
export function listQuery<const Sortable extends readonly string[], const Fields extends readonly string[]>(options: {
  sortable: Sortable;
  /** Names `fields` may select; the first identifies an item and is always returned. */
  fields: Fields;
  defaultSort: string;
}) {
  const { sortable, fields, defaultSort } = options;
  const key = fields[0] as string;
  return z.object({
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_PAGE_SIZE)
      .default(DEFAULT_PAGE_SIZE)
      .meta({ description: `Items per page, 1–${MAX_PAGE_SIZE}.`, example: DEFAULT_PAGE_SIZE }),
    page: z.coerce
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .meta({ description: 'Page number, 1-based. Use either `page` or `cursor`.', example: 1 })
      .optional(),
    cursor: z
      .string()
      .min(1)
      .max(2048)
      .meta({ description: 'Opaque cursor from the previous page\'s `next_cursor`. Use either `page` or `cursor`.' })
      .optional(),
    sort: z
      .string()
      .default(defaultSort)
      .transform((value, ctx) => parseSort(value, sortable, ctx))
      .meta({
        description: `Comma-separated sort keys, \`-\` for descending; a field given again is ignored. Sortable: ${sortable.join(', ')}.`,
        // Documents what parseSort accepts, so that generators send only sort keys that exist.
        pattern: commaListPattern(sortable, true),
        example: defaultSort,
      }),
    fields: z
      .string()
      .optional()
      .transform((value, ctx) => (value === undefined ? undefined : parseFields(value, fields, ctx)))
      .meta({
        description: `Comma-separated fields to return in each item of \`data\` (\`${key}\` is always returned); the others are left out; a name given again is ignored. Available: ${fields.join(', ')}.`,
        pattern: commaListPattern(fields),
        example: fields.slice(0, 2).join(','),
      }),
    created_after: isoDateTime.meta({ description: 'Only items created strictly after this time (ISO 8601).', example: '2026-11-01T00:00:00Z' }).optional(),
    created_before: isoDateTime.meta({ description: 'Only items created strictly before this time (ISO 8601).', example: '2026-11-01T00:00:00Z' }).optional(),
  });
}

/** `updated_after` and `updated_before`, for lists of resources that change (access-log entries never do). */
export const updatedFilters = {
  updated_after: isoDateTime.meta({ description: 'Only items updated strictly after this time (ISO 8601).', example: '2026-11-01T00:00:00Z' }).optional(),
  updated_before: isoDateTime.meta({ description: 'Only items updated strictly before this time (ISO 8601).', example: '2026-11-01T00:00:00Z' }).optional(),
};

/** The envelope of every list response. */
export function listEnvelope<Item extends z.ZodType>(item: Item, name: string) {
  return z
    .object({
      data: z.array(item),
      total: z
        .int()
        .min(0)
        .max(Number.MAX_SAFE_INTEGER)
        .meta({
          format: 'int64',
          description:
            'How many items match the filters, always exact: read in the same statement as the page, so both see the same rows. ' +
            "A module's record list without `filter`, `search` or time bounds reads it from a count kept with the records, at the " +
            'same cost whatever the module holds; with them, the matching items are counted, which costs in proportion to how many match.',
        }),
      limit: z.int().min(1).max(MAX_PAGE_SIZE),
      page: z.int().min(1).max(1_000_000).nullable().meta({ description: 'The page number, or null on a cursor walk.' }),
      has_more: z.boolean(),
      next_cursor: z
        .string()
        .nullable()
        .meta({ description: 'Pass as `cursor` to get the next page; null on the last page.' }),
    })
    .meta({ id: name });
}

function parseSort(value: string, sortable: readonly string[], ctx: z.RefinementCtx): SortKey[] {
  const keys: SortKey[] = [];
  const parts = value.split(',');
  if (!withinListBound(parts, 'sort keys', ctx)) return [];
  for (const part of parts) {
    const field = part.startsWith('-') ? part.slice(1) : part;
    if (!sortable.includes(field)) {
      ctx.addIssue({ code: 'custom', message: `Unknown sort field "${field}". Sortable fields: ${sortable.join(', ')}.` });
      return [];
    }
    // A repeat cannot change an order its first mention already decided.
    if (keys.some((key) => key.field === field)) continue;
    keys.push({ field, direction: part.startsWith('-') ? 'desc' : 'asc' });
  }
  return keys;
}

function parseFields(value: string, available: readonly string[], ctx: z.RefinementCtx): string[] {
  const names = value.split(',');
  if (!withinListBound(names, 'field names', ctx)) return [];
  const unknown = names.filter((name) => !available.includes(name));
  if (unknown.length > 0) {
    ctx.addIssue({ code: 'custom', message: `Unknown field "${unknown[0]}". Available fields: ${available.join(', ')}.` });
    return [];
  }
  return [...new Set([available[0] as string, ...names])];
}

function withinListBound(parts: readonly string[], what: string, ctx: z.RefinementCtx): boolean {
  if (parts.length <= MAX_LIST_NAMES) return true;
  ctx.addIssue({ code: 'custom', message: `At most ${MAX_LIST_NAMES} ${what} (a repeat counts); got ${parts.length}.` });
  return false;
}
