import { randomUUID } from 'node:crypto';
import { connect, type Database } from '@charter/db';
import { createWorkspace } from '@charter/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { onServer, serverOnly } from './support/gates.ts';
import { type ApiProcess, startApiProcess } from './support/process.ts';
import { call } from './support/server.ts';
import { sleep } from './support/time.ts';

// Far longer than the test: the key must come free because the session ended, not because a timeout ran out.
const LOCK_SECONDS = 600;

describe.skipIf(!onServer)(serverOnly('a server process killed in the middle of an idempotent POST'), () => {
  let database: Database;
  let doomed: ApiProcess;
  let survivor: ApiProcess;
  let key: string;
  let moduleId: string;

  beforeAll(async () => {
    const databaseUrl = inject('databaseUrl');
    database = await connect({ databaseUrl, max: 4 });
    key = (await createWorkspace(database.sql, { name: 'Crash' })).key;
    const env = { DATABASE_URL: databaseUrl, IDEMPOTENCY_LOCK_SECONDS: String(LOCK_SECONDS) };
    [doomed, survivor] = await Promise.all([startApiProcess(env), startApiProcess(env)]);
    moduleId = (await call({ url: survivor.url, key }, 'POST', '/modules', { body: { name: 'Crash', fields: [{ name: 'n', type: 'number' }] } })).body.id;
  });
  afterAll(async () => {
    await Promise.all([doomed?.stop('SIGKILL'), survivor?.stop()]);
    await database?.close();
  });

  const countRecords = async () => (await database.sql<{ n: number }[]>`select count(*)::int as n from records where module_id = ${moduleId}`)[0]?.n;

  it('leaves nothing half-done, and a retry succeeds exactly once as soon as the database has ended the dead session', async () => {
    const idempotencyKey = randomUUID();
    const post = (target: ApiProcess) =>
      call({ url: target.url, key }, 'POST', `/modules/${moduleId}/records`, {
        body: { data: { n: 1 } },
        headers: { 'idempotency-key': idempotencyKey },
      });

    // Hold the records table so that the doomed process blocks inside its transaction.
    const blocker = await database.sql.reserve();
    await blocker`begin`;
    await blocker`lock table records in exclusive mode`;
    const inFlight = post(doomed).catch((error: unknown) => error);
    // Wait until it holds the key (a transaction-scoped advisory lock) and is stuck on the insert, waiting for the table lock.
    const deadline = Date.now() + 30_000;
    const stuck = async () => {
      const [holding] = await database.sql`select 1 from pg_locks where locktype = 'advisory' and objsubid = 2 and granted`;
      const [waiting] = await database.sql`
        select 1 from pg_stat_activity
        where wait_event_type = 'Lock' and query ilike '%insert into records%' and pid <> pg_backend_pid()`;
      return Boolean(holding && waiting);
    };
    while (!(await stuck()) && Date.now() < deadline) await sleep(50);
    expect(await stuck()).toBe(true);

    // While it runs, the same key is in use, and nothing of it is visible.
    const early = await post(survivor);
    expect(early.status).toBe(409);
    expect(early.body.error).toBe('idempotency_key_in_use');
    expect(early.headers.get('retry-after')).toBe('1');
    expect(await database.sql`select 1 from idempotency_keys where idempotency_key = ${idempotencyKey}`).toHaveLength(0);

    expect(await doomed.stop('SIGKILL')).toBeNull();
    await blocker`rollback`;
    blocker.release();
    expect(await inFlight).toBeInstanceOf(Error);

    // The database rolls the dead session's transaction back and frees its lock: no expiry to wait for.
    let retried = await post(survivor);
    const retryDeadline = Date.now() + 30_000;
    while (retried.status === 409 && Date.now() < retryDeadline) {
      await sleep(50);
      retried = await post(survivor);
    }
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    const replayed = await post(survivor);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.text).toBe(retried.text);
    expect(await countRecords()).toBe(1);
  });

  it('a process killed after commit leaves the whole effect with its stored response', async () => {
    const idempotencyKey = randomUUID();
    const first = await call({ url: survivor.url, key }, 'POST', `/modules/${moduleId}/records`, {
      body: { data: { n: 2 } },
      headers: { 'idempotency-key': idempotencyKey },
    });
    expect(first.status).toBe(201);
    const [stored] = await database.sql`select status, response_body from idempotency_keys where idempotency_key = ${idempotencyKey}`;
    expect(stored?.status).toBe(201);
    expect(stored?.response_body).toBe(first.text);
    const [record] = await database.sql`select id from records where id = ${first.body.id}`;
    expect(record).toBeDefined();
  });
});
