import type { IncomingMessage } from 'node:http';
import { ApiError } from '../errors.ts';

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
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new ApiError('bad_request', `The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ApiError('bad_request', 'The request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

/**
 * Query string → input object. Repeated keys become arrays (which scalar parameters then refuse),
 * and `filter[<field>]=<value>` pairs become one `filter` object.
 */
export function parseQuery(params: URLSearchParams): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  const filter: Record<string, unknown> = {};
  for (const [key, value] of params) {
    const filterMatch = /^filter\[([^\]]*)\]$/.exec(key);
    const target = filterMatch ? filter : query;
    const name = filterMatch ? (filterMatch[1] as string) : key;
    const existing = target[name];
    target[name] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  if (Object.keys(filter).length > 0) query.filter = filter;
  // trpc-to-openapi drops falsy query values, so `?until=` would pass as if absent; a one-element
  // array reaches the input as '' and is validated like any other value.
  for (const [name, value] of Object.entries(query)) if (value === '') query[name] = [''];
  return query;
}
