import { type FieldType, MAX_RECORD_DATA_BYTES, type ModuleField } from '@charter/contracts';
import { validationFailed } from '../errors.ts';
import { isRecordDate } from '../instants.ts';
import { firstUnstorable, isStorable } from '../storable.ts';

const checks: Record<FieldType, (value: unknown) => string | undefined> = {
  string: (value) => (typeof value === 'string' ? undefined : 'must be a string'),
  number: (value) => (typeof value === 'number' && Number.isFinite(value) ? undefined : 'must be a number'),
  boolean: (value) => (typeof value === 'boolean' ? undefined : 'must be true or false'),
  date: (value) =>
    typeof value === 'string' && isRecordDate(value) ? undefined : 'must be an existing ISO 8601 date (2026-11-22) or date-time, in the years 0001–9999',
  // JSON.parse reads 1e400 as Infinity, which would be stored as null without a word.
  json: (value) => (holdsNonFinite(value) ? 'holds a number beyond what JSON can represent (about ±1.8e308)' : undefined),
};

function holdsNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (value === null || typeof value !== 'object') return false;
  return Object.values(value).some(holdsNonFinite);
}

/** The data's size as a record holds it: the bytes of its JSON. */
const recordBytes = (json: string) => Buffer.byteLength(json);

/**
 * Whether PostgreSQL can take a record's data as jsonb at all, before its module is known: within
 * the size bound, with no string it refuses. Data that fails this, `validateRecordData` refuses
 * with a 422 naming why, whatever the module's fields.
 */
export function isInsertable(data: Record<string, unknown>, json: string): boolean {
  return recordBytes(json) <= MAX_RECORD_DATA_BYTES && firstUnstorable(data) === undefined;
}

/**
 * Checks a record's data against its module's fields, field by field, and throws one 422 that
 * names every offending field. Unknown fields are refused rather than silently stored.
 * @param json the data as JSON, when the caller has it already.
 */
export function validateRecordData(fields: readonly ModuleField[], data: Record<string, unknown>, json = JSON.stringify(data)): void {
  const bytes = recordBytes(json);
  if (bytes > MAX_RECORD_DATA_BYTES) {
    throw validationFailed({ data: [`The data is ${bytes} bytes of JSON; a record holds at most ${MAX_RECORD_DATA_BYTES}.`] });
  }
  const errors: Record<string, string[]> = {};
  const declared = new Map(fields.map((field) => [field.name, field]));
  for (const [key, value] of Object.entries(data)) {
    if (!declared.has(key)) {
      // The name is echoed back in JSON, which cannot carry it unchanged when it is not storable.
      const shown = isStorable(key) ? key : JSON.stringify(key).slice(1, -1);
      errors[`data.${shown}`] = [`The data.${shown} field is not declared by the module.`];
      continue;
    }
    // PostgreSQL's jsonb refuses U+0000 and unpaired surrogates anywhere in the value.
    const unstorable = firstUnstorable(value, [`data.${key}`]);
    if (unstorable !== undefined) errors[`data.${key}`] = [`The ${unstorable} value contains U+0000 or an unpaired surrogate, which cannot be stored.`];
  }
  for (const field of fields) {
    // A field may be named `constructor`: only the record's own values count.
    const value = Object.hasOwn(data, field.name) ? data[field.name] : undefined;
    if (value === undefined || value === null) {
      if (field.required) errors[`data.${field.name}`] = [`The data.${field.name} field is required.`];
      continue;
    }
    if (errors[`data.${field.name}`]) continue;
    const problem = checks[field.type](value);
    if (problem) errors[`data.${field.name}`] = [`The data.${field.name} field ${problem}.`];
  }
  if (Object.keys(errors).length > 0) throw validationFailed(errors);
}

/** Parses a `filter[<field>]` query value into the JSON value it matches, or says why it cannot. */
export function filterValue(field: ModuleField, raw: string): { value: unknown } | { error: string } {
  switch (field.type) {
    case 'string':
      return { value: raw };
    case 'date':
      return isRecordDate(raw) ? { value: raw } : { error: 'must be an existing ISO 8601 date or date-time, in the years 0001–9999' };
    case 'number': {
      const value = Number(raw);
      return raw.trim() !== '' && Number.isFinite(value) ? { value } : { error: 'must be a number' };
    }
    case 'boolean':
      return raw === 'true' ? { value: true } : raw === 'false' ? { value: false } : { error: 'must be true or false' };
    case 'json':
      return { error: 'is a json field and cannot be filtered on' };
  }
}
