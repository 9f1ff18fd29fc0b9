/** A UTF-16 code unit of a surrogate pair standing alone: not valid Unicode, so not storable. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Whether PostgreSQL can store a string in text or jsonb: it refuses U+0000 and ill-formed
 * Unicode, which JSON can carry (`"\u0000"`, `"\ud800"`).
 */
export function isStorable(value: string): boolean {
  return !value.includes('\u0000') && !LONE_SURROGATE.test(value);
}

/**
 * The path of the first string (key or value) in a parsed JSON value that PostgreSQL could not
 * store, e.g. `data.notes` or `fields.0.description`; undefined when there is none.
 */
export function firstUnstorable(value: unknown, path: string[] = []): string | undefined {
  if (typeof value === 'string') return isStorable(value) ? undefined : path.join('.') || '_';
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = firstUnstorable(item, [...path, String(index)]);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (!isStorable(key)) return [...path, key].join('.');
      const found = firstUnstorable(item, [...path, key]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}
