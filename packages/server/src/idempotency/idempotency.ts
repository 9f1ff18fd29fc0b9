import { createHash } from 'node:crypto';
import type { Queryable, Sql } from '@charter/db';
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
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) throw malformed('Send one Idempotency-Key header, not several.');
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

/** What makes two requests "the same request": method, path and body. */
export function fingerprint(method: string, path: string, body: unknown): Buffer {
  return createHash('sha256').update(`${method} ${path}\n${JSON.stringify(body ?? null)}`).digest();
}

export type Claim =
  | { kind: 'owner'; owner: string }
  | { kind: 'replay'; status: number; body: string }
  | { kind: 'in-flight' }
  | { kind: 'mismatch' };

export interface IdempotencyTarget {
  keyId: string;
  idempotencyKey: string;
  fingerprint: Buffer;
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
    return { kind: 'replay', status: existing.status, body: existing.response_body ?? '' };
  }

  /**
   * Stores the response inside the transaction that holds the request's effect. Returns false
   * when the claim was lost (it expired and a retry took it over): the caller must roll back.
   */
  async complete(tx: Queryable, target: IdempotencyTarget, owner: string, status: number, body: string): Promise<boolean> {
    const stored = await tx`
      update idempotency_keys set status = ${status}, response_body = ${body}, locked_until = null
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

export function idempotencyErrors(kind: 'in-flight' | 'mismatch'): ApiError {
  return kind === 'in-flight'
    ? new ApiError(
        'idempotency_key_in_use',
        'A request with this Idempotency-Key is still being processed. Retry in a moment.',
        {},
        { 'Retry-After': '1' },
      )
    : new ApiError(
        'idempotency_key_reused',
        'This Idempotency-Key was already used with a different request (method, path or body).',
      );
}
