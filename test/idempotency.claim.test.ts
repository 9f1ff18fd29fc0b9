import { randomUUID } from 'node:crypto';
import { connect, type Database } from '@charter/db';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onServer, serverOnly } from './support/gates.ts';

/**
 * The idempotency claim (`idempotency_claim`, migration 0011) takes the key's lock and reads the
 * stored reply in one statement. The read must see a reply committed after that statement began,
 * up to the moment the lock was free: else a retry arriving while the first call commits would
 * find the lock free and no reply, and run the effect a second time. Here the claim is held, by
 * a lock taken just before it in the same statement, until another session has stored a reply and
 * committed; the claim must then answer with that reply.
 */
describe.skipIf(!onServer)(serverOnly('the idempotency claim reads the stored reply after taking the lock'), () => {
  let database: Database;

  beforeAll(async () => {
    database = await connect({ databaseUrl: inject('databaseUrl'), max: 4 });
  });
  afterAll(() => database?.close());

  it('sees a reply committed while its statement waited', async () => {
    const keyId = `key_claim_${randomUUID()}`;
    // A lock of the test's own, held by the first session: the claim's statement waits on it.
    const gate = Math.floor(Math.random() * 2 ** 31);
    const first = await database.sql.reserve();
    const second = await database.sql.reserve();
    try {
      await first`begin`;
      await first`select pg_advisory_xact_lock(${gate}::int8)`;
      await first`
        insert into idempotency_keys (key_id, idempotency_key, fingerprint, owner, status, response_body, expires_at)
        values (${keyId}, 'k', ${Buffer.from('fp')}, 'req_first', 201, '{"id":"rec_1"}', now() + interval '1 hour')`;

      // The statement's snapshot is taken now, before the first session commits; the claim runs
      // once the gate is free, that is after the commit.
      const claim = second<{ locked: boolean; fingerprint: Buffer | null; status: number | null; response_body: string | null }[]>`
        select claim.* from (select pg_advisory_xact_lock(${gate}::int8)::text as waited) as gate
        cross join lateral idempotency_claim(${keyId} || gate.waited, 'k', 1, 2, '60000') as claim`.execute();
      await waitUntilWaiting(gate);
      await first`commit`;

      const [row] = await claim;
      expect(row).toMatchObject({ locked: true, status: 201, response_body: '{"id":"rec_1"}' });
      expect(row?.fingerprint?.toString()).toBe('fp');
      await second`rollback`;
    } finally {
      await first`rollback`.catch(() => {});
      first.release();
      second.release();
      await database.sql`delete from idempotency_keys where key_id = ${keyId}`;
    }
  });

  /**
   * A call's work goes out right behind its claim (migration 0012): when the claim finds that the
   * call will not run, the work is thrown away, and must not wait on any lock meanwhile.
   */
  it('bounds lock waits (lock_timeout 1 ms) exactly when the call will not run', async () => {
    const keyId = `key_claim_${randomUUID()}`;
    const holder = await database.sql.reserve();
    const caller = await database.sql.reserve();
    const store = (key: string, status: number | null, expiresIn: string, lockedFor: string | null) => database.sql`
      insert into idempotency_keys (key_id, idempotency_key, fingerprint, owner, status, response_body, expires_at, locked_until)
      values (${keyId}, ${key}, ${Buffer.from('fp')}, 'req_earlier', ${status}, ${status === null ? null : '{}'},
              now() + ${expiresIn}::interval, ${lockedFor === null ? null : database.sql`now() + ${lockedFor}::interval`})`;
    const claim = async (key: string, lock: number) => {
      await caller`begin`;
      try {
        const [row] = await caller<{ locked: boolean; status: number | null }[]>`select * from idempotency_claim(${keyId}, ${key}, 7, ${lock}::int4, '60000')`;
        const [setting] = await caller<{ lock_timeout: string }[]>`show lock_timeout`;
        return { locked: row?.locked, status: row?.status, lockTimeout: setting?.lock_timeout };
      } finally {
        await caller`rollback`;
      }
    };
    try {
      const lock = Math.floor(Math.random() * 2 ** 30);
      // A new key: the call runs, and waits on locks as any statement does.
      expect(await claim('new', lock)).toEqual({ locked: true, status: null, lockTimeout: '0' });
      // A stored reply answers the call.
      await store('stored', 201, '1 hour', null);
      expect(await claim('stored', lock + 1)).toEqual({ locked: true, status: 201, lockTimeout: '1ms' });
      // An expired reply is taken over: the call runs.
      await store('expired', 201, '-1 second', null);
      expect(await claim('expired', lock + 2)).toEqual({ locked: true, status: 201, lockTimeout: '0' });
      // A claim of a server before this scheme, still held, is in flight; a lapsed one is taken over.
      await store('held', null, '1 hour', '1 hour');
      expect(await claim('held', lock + 3)).toEqual({ locked: true, status: null, lockTimeout: '1ms' });
      await store('lapsed', null, '1 hour', '-1 second');
      expect(await claim('lapsed', lock + 4)).toEqual({ locked: true, status: null, lockTimeout: '0' });
      // Another session holds the key's lock: in flight.
      await holder`begin`;
      await holder`select pg_advisory_xact_lock(7, ${lock + 5}::int4)`;
      expect(await claim('in-flight', lock + 5)).toEqual({ locked: false, status: null, lockTimeout: '1ms' });
      await holder`rollback`;
      // The setting is the transaction's own: the session's next transaction waits as before.
      const [after] = await caller<{ lock_timeout: string }[]>`show lock_timeout`;
      expect(after?.lock_timeout).toBe('0');
    } finally {
      await holder`rollback`.catch(() => {});
      holder.release();
      caller.release();
      await database.sql`delete from idempotency_keys where key_id = ${keyId}`;
    }
  });

  /** Until a session waits for the advisory lock `gate` (a condition, not a duration). */
  async function waitUntilWaiting(gate: number): Promise<void> {
    for (let attempt = 0; attempt < 10_000; attempt++) {
      const [row] = await database.sql<{ waiting: boolean }[]>`
        select exists (select 1 from pg_locks where locktype = 'advisory' and not granted and objid = ${gate}::int8::oid) as waiting`;
      if (row?.waiting) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error('the claim never waited for the gate');
  }
});
