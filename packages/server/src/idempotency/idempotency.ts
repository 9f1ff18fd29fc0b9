import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { Queryable, Sql } from '@charter/db';
import { canonicalJson } from '../canonical-json.ts';
import { ApiError } from '../errors.ts';
import { newId } from '../ids.ts';

// A bare key may not start with a quote: that would be a malformed quoted one.
const BARE_KEY = /^[\x21\x23-\x7e][\x20-\x7e]{0,254}$/;
// An sf-string (RFC 8941): "…" with \" and \\ as its only escapes.
const QUOTED_KEY = /^"((?:[\x20-\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;

/**
 * The Idempotency-Key of a request: 1–255 printable ASCII characters, bare or as a quoted
 * structured-field string (draft-ietf-httpapi-idempotency-key-header). Undefined when absent;
 * a malformed one is a 400, never silently ignored.
 */
export function parseIdempotencyKey(values: readonly string[] | undefined): string | undefined {
  // Node would join repeated headers into one "a, b" value: each arrives apart here (`headersDistinct`).
  if (values === undefined || values.length === 0) return undefined;
  if (values.length > 1) throw malformed('Send one Idempotency-Key header, not several.');
  const header = values[0] as string;
  const quoted = QUOTED_KEY.exec(header);
  const key = quoted ? (quoted[1] as string).replace(/\\(["\\])/g, '$1') : header;
  if (key.length < 1 || key.length > 255 || (!quoted && !BARE_KEY.test(key)) || !/^[\x20-\x7e]+$/.test(key)) {
    throw malformed('The Idempotency-Key header must be 1–255 printable ASCII characters.');
  }
  return key;
}

function malformed(message: string): ApiError {
  return new ApiError('bad_request', message);
}

/**
 * What makes two requests "the same request": method, path, query and body, in a canonical form,
 * so that the same JSON with its keys in another order, or the same query parameters in another
 * order, is the same request.
 */
export function fingerprint(method: string, url: URL, body: unknown): Buffer {
  const query = [...url.searchParams].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(`${method} ${url.pathname}?${new URLSearchParams(query).toString()}\n${canonicalJson(body ?? null)}`)
    .digest();
}

export type Claim =
  | { kind: 'owner'; owner: string }
  | { kind: 'replay'; status: number; body: string }
  | { kind: 'in-flight' }
  | { kind: 'mismatch' }
  | { kind: 'other-secret' };

export interface IdempotencyTarget {
  keyId: string;
  idempotencyKey: string;
  fingerprint: Buffer;
  /**
   * The API secret the request presented, set when its reply carries a secret: the stored reply
   * is then sealed under it (see `sealReply`), and only a request presenting it can open it.
   */
  sealWith?: string | undefined;
}

// Sealed replies are `v1.` and base64 (never `_`, so never the shape of a key); plain replies are JSON or empty.
const SEALED_PREFIX = 'v1.';

/**
 * A stored reply that carries a secret must survive for a retry after a lost response, yet the
 * database alone must not be able to give the secret back. So it is sealed with AES-256-GCM
 * under a key derived by HKDF-SHA256 from the API secret the request presented, salted with the
 * (key ID, Idempotency-Key) pair and bound to it and to the status as associated data. Sound
 * because the database holds that secret only as its SHA-256 digest, and the digest does not
 * yield the HKDF output: HKDF-Extract is HMAC-SHA256 keyed by the salt over the secret, which
 * hashes the secret behind the salt's block, never the secret alone; and the secret's 190 random
 * bits put guessing it from its digest out of reach. A retry presents the same secret and opens it.
 */
function replyKey(target: IdempotencyTarget, secret: string): Buffer {
  const salt = JSON.stringify([target.keyId, target.idempotencyKey]);
  return Buffer.from(hkdfSync('sha256', secret, salt, 'charter idempotent reply v1', 32));
}

function associatedData(target: IdempotencyTarget, status: number): Buffer {
  return Buffer.from(JSON.stringify([target.keyId, target.idempotencyKey, status]));
}

/** The reply as stored: sealed when the target names a secret, as is otherwise. */
export function sealReply(target: IdempotencyTarget, status: number, body: string): string {
  if (target.sealWith === undefined) return body;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', replyKey(target, target.sealWith), iv);
  cipher.setAAD(associatedData(target, status));
  const sealed = Buffer.concat([cipher.update(body, 'utf8'), cipher.final()]);
  return SEALED_PREFIX + Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64');
}

/** The stored reply's body, or undefined when it is sealed and the request's secret cannot open it. */
export function openReply(target: IdempotencyTarget, status: number, stored: string): string | undefined {
  if (!stored.startsWith(SEALED_PREFIX)) return stored;
  if (target.sealWith === undefined) return undefined;
  const raw = Buffer.from(stored.slice(SEALED_PREFIX.length), 'base64');
  const decipher = createDecipheriv('aes-256-gcm', replyKey(target, target.sealWith), raw.subarray(0, 12));
  decipher.setAAD(associatedData(target, status));
  decipher.setAuthTag(raw.subarray(12, 28));
  try {
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    // Another secret of the same key (say, the one a rotation issued): the tag does not verify.
    return undefined;
  }
}

/**
 * Idempotency records in PostgreSQL. A request first claims its key in a short transaction of
 * its own, so that duplicates see it at once (409 while it runs); the handler's effect and the
 * stored response then commit together in one transaction, guarded by the claim's owner token.
 * A claim whose process died expires after `lockSeconds` and can be taken over by a retry.
 */
export class IdempotencyStore {
  constructor(
    private readonly sql: Sql,
    private readonly lockSeconds: number,
    /** How long a stored response is replayed (maintenance/retention.ts purges it after). */
    private readonly retentionHours = 24,
  ) {}

  async claim(target: IdempotencyTarget): Promise<Claim> {
    const owner = newId('request');
    const [taken] = await this.sql<{ owner: string }[]>`
      insert into idempotency_keys as i (key_id, idempotency_key, fingerprint, owner, locked_until, expires_at)
      values (${target.keyId}, ${target.idempotencyKey}, ${target.fingerprint}, ${owner},
              now() + make_interval(secs => ${this.lockSeconds}), now() + make_interval(hours => ${this.retentionHours}))
      on conflict (key_id, idempotency_key) do update set
        fingerprint = excluded.fingerprint, owner = excluded.owner, locked_until = excluded.locked_until,
        status = null, response_body = null, created_at = now(), expires_at = excluded.expires_at
      where i.expires_at <= now()
         or (i.status is null and i.locked_until <= now() and i.fingerprint = excluded.fingerprint)
      returning i.owner`;
    if (taken?.owner === owner) return { kind: 'owner', owner };
    const [existing] = await this.sql<{ fingerprint: Buffer; status: number | null; response_body: string | null }[]>`
      select fingerprint, status, response_body from idempotency_keys
      where key_id = ${target.keyId} and idempotency_key = ${target.idempotencyKey}`;
    if (!existing) return { kind: 'in-flight' };
    if (!existing.fingerprint.equals(target.fingerprint)) return { kind: 'mismatch' };
    if (existing.status === null) return { kind: 'in-flight' };
    const body = openReply(target, existing.status, existing.response_body ?? '');
    if (body === undefined) return { kind: 'other-secret' };
    return { kind: 'replay', status: existing.status, body };
  }

  /**
   * Stores the response inside the transaction that holds the request's effect. Returns false
   * when the claim was lost (it expired and a retry took it over): the caller must roll back.
   */
  async complete(tx: Queryable, target: IdempotencyTarget, owner: string, status: number, body: string): Promise<boolean> {
    const stored = await tx`
      update idempotency_keys set status = ${status}, response_body = ${sealReply(target, status, body)}, locked_until = null
      where key_id = ${target.keyId} and idempotency_key = ${target.idempotencyKey} and owner = ${owner} and status is null`;
    return stored.count === 1;
  }

  /** After a server error nothing was done: frees the key so that a retry can run. */
  async release(target: IdempotencyTarget, owner: string): Promise<void> {
    await this.sql`
      delete from idempotency_keys
      where key_id = ${target.keyId} and idempotency_key = ${target.idempotencyKey} and owner = ${owner} and status is null`;
  }
}

export function idempotencyErrors(kind: 'in-flight' | 'mismatch' | 'other-secret'): ApiError {
  switch (kind) {
    case 'in-flight':
      return new ApiError(
        'idempotency_key_in_use',
        'A request with this Idempotency-Key is still being processed. Retry in a moment.',
        {},
        { 'Retry-After': '1' },
      );
    case 'mismatch':
      return new ApiError(
        'idempotency_key_reused',
        'This Idempotency-Key was already used with a different request (method, path or body).',
      );
    case 'other-secret':
      return new ApiError(
        'idempotency_key_reused',
        'This Idempotency-Key was already used with another secret of this API key. Its response carries a secret and can only be replayed to the secret that sent the request; use a new Idempotency-Key.',
      );
  }
}
