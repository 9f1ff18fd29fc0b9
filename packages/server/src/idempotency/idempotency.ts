import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { Queryable, Sql } from '@charter/db';
import type { ReservedSql } from 'postgres';
import { canonicalJson } from '../canonical-json.ts';
import { ApiError } from '../errors.ts';

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

/** What an idempotent call comes to: it ran (its reply is stored), or an earlier run answers for it. */
export type Once<Reply> =
  | { kind: 'ran'; reply: Reply }
  | { kind: 'replay'; status: number; body: string; headers: Record<string, string> }
  | { kind: 'in-flight' }
  | { kind: 'mismatch' }
  | { kind: 'other-secret' };

/** A reply as the store needs it: a status, a body, and whether it is an error (then its effect is undone). */
export interface StorableReply {
  status: number;
  body: string | undefined;
  /**
   * The headers that belong to the answer (`Allow` on a 405, `WWW-Authenticate`…), stored and
   * replayed with it. Per-request headers (request ID, rate-limit fields, Link) are added where the
   * answer leaves, never here.
   */
  headers?: Readonly<Record<string, string>> | undefined;
  error?: unknown;
}

/**
 * The reply's headers as stored: null when it has none (most replies), so that the row stays as
 * small as before. Bound as text and cast (`::text::jsonb`): bound to a jsonb parameter, postgres.js
 * would encode the JSON string a second time.
 */
function storedHeaders(reply: StorableReply): string | null {
  const headers = reply.headers ?? {};
  return Object.keys(headers).length === 0 ? null : JSON.stringify(headers);
}

/** What `idempotency_claim` answers: whether the lock was taken, and the stored record's columns (null when there is none). */
type Claim = { locked: boolean } & { [K in keyof StoredRecord]: StoredRecord[K] | null };

/** A stored record as the claim reads it. */
interface StoredRecord {
  fingerprint: Buffer;
  status: number | null;
  response_body: string | null;
  /** The reply's own headers (migration 0009); null when it had none or was stored before. */
  response_headers: Record<string, string> | null;
  expired: boolean;
  held: boolean;
}

/**
 * Handlers open a transaction with `transaction()` (packages/db), which nests as a savepoint
 * inside one already open: the reserved connection, in its transaction, gets the same.
 */
function withSavepoints(tx: ReservedSql): Queryable {
  let depth = 0;
  const savepoint = async <T>(work: (scope: Queryable) => Promise<T>): Promise<T> => {
    // The outermost transaction a handler opens is this one: whatever fails in it fails the call,
    // and the whole transaction is rolled back, so a savepoint there would only cost two round trips.
    if (depth === 0) {
      depth++;
      try {
        return await work(tx);
      } finally {
        depth--;
      }
    }
    const name = `idempotent_${depth++}`;
    await tx.unsafe(`savepoint ${name}`);
    try {
      const result = await work(tx);
      await tx.unsafe(`release savepoint ${name}`);
      return result;
    } catch (error) {
      await tx.unsafe(`rollback to savepoint ${name}`);
      throw error;
    } finally {
      depth--;
    }
  };
  return Object.assign(tx, { savepoint }) as unknown as Queryable;
}

/**
 * The advisory lock of one (key ID, Idempotency-Key) pair: 64 bits of its SHA-256 as the two
 * int4 halves, a key space apart from the single-bigint locks of migrations and bootstrap. Two
 * pairs sharing a lock only make one of them wait for a retry (409), never mix their replies.
 */
function lockOf(target: IdempotencyTarget): [number, number] {
  const digest = createHash('sha256').update(JSON.stringify([target.keyId, target.idempotencyKey])).digest();
  return [digest.readInt32BE(0), digest.readInt32BE(4)];
}

/**
 * Idempotency records in PostgreSQL, written in the same transaction as the call's effect.
 *
 * A call takes a transaction-scoped advisory lock on its (key ID, Idempotency-Key) pair without
 * waiting, and reads the stored reply, in one statement sent with BEGIN (the database function
 * `idempotency_claim`, migrations 0011 and 0012): a stored reply is replayed; a lock held
 * by another session means the same key is in flight (409 at once, where an insert on the unique
 * index would wait). The call's work is sent in the same write, behind the claim, before its
 * answer is known: most calls are new, and this saves a round trip on each. When the claim says
 * the call does not run, that work is rolled back unseen, and the claim has set the transaction's
 * lock_timeout to 1 ms, so that the work never waits on the in-flight call's locks. The holder
 * runs the effect and stores its reply; the commit goes out right behind that insert, and a
 * failed insert turns it into a rollback. While a call runs, nothing of it is visible but the
 * lock, so a process that dies mid-call leaves nothing: its session ends, the database rolls its
 * transaction back and frees the lock, and a retry runs at once.
 *
 * Rows with no status are claims written by servers before this scheme: one whose lock has not
 * run out is still in flight; an expired one is taken over.
 */
export class IdempotencyStore {
  constructor(
    private readonly sql: Sql,
    /** Longest a call may sit idle inside its transaction, holding its key, before the database ends its session. */
    private readonly lockSeconds: number,
    /** How long a stored response is replayed (maintenance/retention.ts purges it after). */
    private readonly retentionHours = 24,
  ) {}

  /**
   * Runs `work` once for the target: inside one transaction that also stores its reply, unless a
   * stored reply answers (replay, mismatch) or the key is in flight. An error reply (`error`
   * set) rolls the effect back; a 4xx is then stored on its own, a 5xx stores nothing, so that
   * the retry runs. Whatever `work` throws rolls back too and is thrown on.
   */
  async runOnce<Reply extends StorableReply>(target: IdempotencyTarget, owner: string, work: (tx: Queryable) => Promise<Reply>): Promise<Once<Reply>> {
    const [high, low] = lockOf(target);
    // A connection of its own rather than sql.begin, so that BEGIN goes out with the claim and the
    // work's first statement in one write, and COMMIT with the stored reply: three round trips fewer per call.
    const tx = await this.sql.reserve();
    let refused: Reply | undefined;
    // Settles once the work has stopped using the connection: nothing may reach it after the rollback.
    let working: Promise<{ reply: Reply } | { thrown: unknown }> | undefined;
    try {
      // BEGIN, the claim and the work's first statement go out in one write: the work starts
      // before the claim is known, inside the transaction, behind the lock.
      const begun = Promise.all([
        tx`begin`.execute(),
        tx<Claim[]>`
          select * from idempotency_claim(${target.keyId}, ${target.idempotencyKey}, ${high}::int4, ${low}::int4, ${String(this.lockSeconds * 1000)})`.execute(),
      ]);
      working = work(withSavepoints(tx)).then(
        (reply) => ({ reply }),
        (thrown: unknown) => ({ thrown }),
      );
      const [, [claim]] = await begun;
      const locked = claim?.locked === true;
      const existing = claim && claim.fingerprint !== null ? (claim as StoredRecord) : undefined;
      const answered = existing && !existing.expired ? this.answer(target, existing) : undefined;
      // Even work that is thrown away is waited for: nothing of it may reach the connection after the rollback.
      const outcome = await working;
      working = undefined;
      if (answered || !locked) {
        await tx`rollback`;
        return answered ?? { kind: 'in-flight' };
      }
      if ('thrown' in outcome) throw outcome.thrown;
      const reply = outcome.reply;
      if (reply.error !== undefined) {
        await tx`rollback`;
        refused = reply;
        return { kind: 'ran', reply };
      }
      // An expired record, or a dead claim of an earlier server, gives way to this one.
      const cleared = existing ? tx`delete from idempotency_keys where key_id = ${target.keyId} and idempotency_key = ${target.idempotencyKey}`.execute() : undefined;
      // COMMIT goes out behind the insert without waiting for it; a failed insert turns it into a rollback.
      const [deleted, stored, committed] = await Promise.allSettled([cleared, this.insert(tx, target, owner, reply).execute(), tx`commit`.execute()]);
      if (committed.status === 'rejected') throw committed.reason;
      // The reply could not be stored (another run stored one first): the effect was rolled back.
      if (deleted.status === 'rejected' || stored.status === 'rejected') return { kind: 'in-flight' };
      return { kind: 'ran', reply };
    } catch (error) {
      // Whatever failed, nothing of the call stays: the connection goes back with no transaction open.
      await working;
      await tx`rollback`.catch(() => {});
      throw error;
    } finally {
      tx.release();
      // With the connection given back: the pool may have no other (PGlite's has one).
      if (refused && refused.status < 500) await this.storeRefusal(target, owner, refused);
    }
  }

  /** What a live stored record says to a call with the same key, or undefined when it is a dead claim to take over. */
  private answer(target: IdempotencyTarget, existing: StoredRecord): Once<never> | undefined {
    if (!existing.fingerprint.equals(target.fingerprint)) return { kind: 'mismatch' };
    if (existing.status !== null) {
      const body = openReply(target, existing.status, existing.response_body ?? '');
      return body === undefined
        ? { kind: 'other-secret' }
        : { kind: 'replay', status: existing.status, body, headers: { ...existing.response_headers } };
    }
    return existing.held ? { kind: 'in-flight' } : undefined;
  }

  private insert(tx: Queryable, target: IdempotencyTarget, owner: string, reply: StorableReply) {
    return tx`
      insert into idempotency_keys (key_id, idempotency_key, fingerprint, owner, status, response_body, response_headers, expires_at)
      values (${target.keyId}, ${target.idempotencyKey}, ${target.fingerprint}, ${owner}, ${reply.status},
              ${sealReply(target, reply.status, reply.body ?? '')}, ${storedHeaders(reply)}::text::jsonb, now() + make_interval(hours => ${this.retentionHours}))`;
  }

  /**
   * Stores a refusal whose effect was rolled back, under the key's lock again. When another call
   * with the key took the lock in between, that call's own reply is the one stored.
   */
  private async storeRefusal(target: IdempotencyTarget, owner: string, reply: StorableReply): Promise<void> {
    const [high, low] = lockOf(target);
    await this.sql.begin(async (tx) => {
      const [lock] = await tx<{ locked: boolean }[]>`select pg_try_advisory_xact_lock(${high}::int4, ${low}::int4) as locked`;
      if (!lock?.locked) return;
      await tx`
        insert into idempotency_keys as i (key_id, idempotency_key, fingerprint, owner, status, response_body, response_headers, expires_at)
        values (${target.keyId}, ${target.idempotencyKey}, ${target.fingerprint}, ${owner}, ${reply.status},
                ${sealReply(target, reply.status, reply.body ?? '')}, ${storedHeaders(reply)}::text::jsonb, now() + make_interval(hours => ${this.retentionHours}))
        on conflict (key_id, idempotency_key) do update set
          fingerprint = excluded.fingerprint, owner = excluded.owner, locked_until = null, status = excluded.status,
          response_body = excluded.response_body, response_headers = excluded.response_headers, created_at = now(), expires_at = excluded.expires_at
        where i.expires_at <= now() or (i.status is null and (i.locked_until is null or i.locked_until <= now()))`;
    });
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
