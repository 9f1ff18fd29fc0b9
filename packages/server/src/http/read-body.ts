import type { IncomingMessage } from 'node:http';
import { MAX_JSON_DEPTH } from '@charter/contracts';
import { ApiError, validationFailed } from '../errors.ts';

/** Reads a request body up to `limit` bytes; larger bodies are refused with 413 without being buffered. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number): ApiError {
  return new ApiError('payload_too_large', `The request body is larger than ${limit} bytes.`, {}, { Connection: 'close' });
}

// A type/subtype token (RFC 9110), with `+json` as the structured syntax suffix (RFC 6838).
const JSON_SUFFIXED = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*\+json$/;

/** Whether a Content-Type names JSON: `application/json` or any `+json` type, in any letter case, with any parameters. */
export function isJsonMediaType(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  return mediaType === 'application/json' || (mediaType !== undefined && JSON_SUFFIXED.test(mediaType));
}

/** Parses a JSON object body. An empty body is an empty object; anything else must be JSON of an object. */
export function parseJsonObject(body: Buffer, contentType: string | undefined): Record<string, unknown> {
  if (body.length === 0) return {};
  if (!isJsonMediaType(contentType)) {
    throw new ApiError(
      'unsupported_media_type',
      `The request body must be application/json${contentType ? `, not ${contentType.slice(0, 100)}` : '; the Content-Type header is missing'}.`,
    );
  }
  const text = body.toString('utf8');
  // Before JSON.parse: everything after it (validation, fingerprints, storage checks) recurses.
  if (exceedsDepth(text, MAX_JSON_DEPTH)) {
    throw new ApiError('bad_request', `The request body is nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ApiError('bad_request', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ApiError('bad_request', 'The request body must be a JSON object.');
  }
  const polluting = protoKeyPaths(parsed);
  if (polluting.length > 0) {
    throw validationFailed(Object.fromEntries(polluting.map((path) => [path, [`The ${path} field is not allowed: "__proto__" is never a field name.`]])));
  }
  return parsed as Record<string, unknown>;
}

/**
 * Whether JSON text nests objects and arrays deeper than `limit`: one pass over the characters,
 * skipping strings, so that a 1,000,000-deep body costs no more than its length. Malformed JSON
 * passes here and fails in JSON.parse.
 */
export function exceedsDepth(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c) index++; // a backslash: the next character is escaped
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x7b || char === 0x5b) {
      if (++depth > limit) return true;
    } else if (char === 0x7d || char === 0x5d) {
      depth--;
    }
  }
  return false;
}

/**
 * Paths of every `__proto__` key in parsed JSON. JSON.parse makes it an own property, but any
 * copy by assignment (`copy[key] = value`, as validators and libraries do) turns it into the
 * copy's prototype or silently drops it: it is refused instead. The depth is bounded already.
 */
function protoKeyPaths(value: unknown, path: string[] = [], found: string[] = []): string[] {
  if (typeof value !== 'object' || value === null) return found;
  for (const [key, child] of Object.entries(value)) {
    const childPath = [...path, key];
    if (key === '__proto__') found.push(childPath.join('.'));
    protoKeyPaths(child, childPath, found);
  }
  return found;
}

/**
 * Query string → input object. Repeated keys become arrays (which scalar parameters then refuse),
 * and record filters become one `filter` object, from either form: `filter=<field>:<value>`
 * (repeatable; what generators send for the document's form-style array) or `filter[<field>]=<value>`.
 */
export function parseQuery(params: URLSearchParams): Record<string, unknown> {
  // Maps, not objects: a name such as `constructor` must not find Object.prototype's member.
  const query = new Map<string, unknown>();
  const filter = new Map<string, unknown>();
  for (const [key, raw] of params) {
    const filterMatch = /^filter\[([^\]]*)\]$/.exec(key);
    const pair = key === 'filter' ? filterPair(raw) : undefined;
    const target = filterMatch || pair ? filter : query;
    const name = pair ? pair.field : filterMatch ? (filterMatch[1] as string) : key;
    const value = pair ? pair.value : raw;
    if (name === '__proto__') {
      // trpc-to-openapi copies the query by assignment, which would drop it without a word.
      throw validationFailed({ [key]: [`Unknown parameter "${key}".`] });
    }
    const existing = target.get(name);
    target.set(name, existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value]);
  }
  if (filter.size > 0) query.set('filter', Object.fromEntries(filter));
  // trpc-to-openapi drops falsy query values, so `?until=` would pass as if absent; a one-element
  // array reaches the input as '' and is validated like any other value.
  for (const [name, value] of query) if (value === '') query.set(name, ['']);
  return Object.fromEntries(query);
}

/** `<field>:<value>`, split at the first colon (a value may hold more). */
function filterPair(raw: string): { field: string; value: string } {
  const colon = raw.indexOf(':');
  if (colon <= 0) {
    throw validationFailed({
      filter: [`Each filter is "<field>:<value>", for example filter=status:open; "${raw.slice(0, 100)}" has no field name before a colon.`],
    });
  }
  return { field: raw.slice(0, colon), value: raw.slice(colon + 1) };
}
