import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * API keys look like `sk_live_<32 random base62><6 base62 checksum>`: 32 base62 characters
 * carry about 190 bits of randomness, and the CRC32 suffix lets a malformed or truncated key be
 * refused before any database lookup (as GitHub's tokens do). Secret scanners use API_KEY_PATTERN.
 */
export const API_KEY_PATTERN = /\bsk_(live|test)_[0-9A-Za-z]{38}\b/;
const API_KEY_EXACT = /^sk_(live|test)_([0-9A-Za-z]{32})([0-9A-Za-z]{6})$/;

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_LENGTH = 32;

export type KeyMode = 'live' | 'test';

export interface GeneratedKey {
  /** The full secret: shown once, never stored. */
  plaintext: string;
  digest: Buffer;
  /** For display: `sk_live_` and the first four random characters. */
  prefix: string;
  last4: string;
  mode: KeyMode;
}

function base62Random(length: number): string {
  let out = '';
  while (out.length < length) {
    // Rejection sampling keeps every character uniform: 248 = 4 × 62.
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += BASE62[byte % 62];
    }
  }
  return out;
}

function checksum(body: string): string {
  let value = crc32(body) >>> 0;
  let out = '';
  for (let i = 0; i < 6; i++) {
    out = BASE62[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

export function digestKey(plaintext: string): Buffer {
  return createHash('sha256').update(plaintext).digest();
}

export function generateApiKey(mode: KeyMode = 'live'): GeneratedKey {
  const random = base62Random(RANDOM_LENGTH);
  const body = `sk_${mode}_${random}`;
  const plaintext = body + checksum(body);
  return {
    plaintext,
    digest: digestKey(plaintext),
    prefix: `sk_${mode}_${random.slice(0, 4)}`,
    last4: plaintext.slice(-4),
    mode,
  };
}

/** Whether a string has the key format and a matching checksum: no I/O, no secrets involved. */
export function isWellFormedApiKey(candidate: string): boolean {
  const match = API_KEY_EXACT.exec(candidate);
  if (!match) return false;
  const body = candidate.slice(0, -6);
  const expected = Buffer.from(checksum(body));
  const given = Buffer.from(match[3] ?? '');
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Constant-time comparison of two SHA-256 digests. */
export function digestsEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The request headers a key can travel in, each with every value it was sent with (`req.headersDistinct`). */
export interface KeyHeaders {
  authorization?: readonly string[] | undefined;
  'x-api-key'?: readonly string[] | undefined;
}

// RFC 9110: the scheme is case-insensitive, followed by one or more spaces and the credentials.
const AUTHORIZATION = /^(?:Bearer|ApiKey) +(\S+) *$/i;

/**
 * The key a request presents, in exactly one of the documented forms: `Authorization: Bearer <key>`,
 * `Authorization: ApiKey <key>` or `X-API-Key: <key>`. Anything else presents no usable key, and
 * so gets the same 401 as a missing one: another scheme or none (`Authorization: sk_live_…`), a
 * header sent twice, or both headers carrying different keys. Undefined when no key is presented.
 */
export function presentedKey(headers: KeyHeaders): string | undefined {
  const authorization = headers.authorization;
  const apiKey = headers['x-api-key'];
  if ((authorization && authorization.length > 1) || (apiKey && apiKey.length > 1)) return undefined;
  let fromAuthorization: string | undefined;
  if (authorization?.[0] !== undefined) {
    fromAuthorization = AUTHORIZATION.exec(authorization[0])?.[1];
    if (fromAuthorization === undefined) return undefined;
  }
  const fromApiKey = apiKey?.[0]?.trim();
  if (fromAuthorization !== undefined && fromApiKey !== undefined && fromAuthorization !== fromApiKey) return undefined;
  return fromAuthorization ?? (fromApiKey || undefined);
}
