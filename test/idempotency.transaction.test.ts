import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { countedServer } from './support/counted-server.ts';
import { call, createModule } from './support/server.ts';

/** What an idempotent request sends the database, statement by statement, in order. */
const counted = countedServer('One transaction');
const { statements } = counted;

/** The statements of one request, without what is off its path (batched access log, last_used_at) or the admission. */
async function statementsOf(request: () => Promise<unknown>): Promise<string[]> {
  await counted.app.flush();
  statements.length = 0;
  await request();
  return statements.filter(
    (query) => !/^insert into (access_logs|usage_minutes|unauthenticated_requests)|^update api_keys set last_used_at|api_key_secrets/i.test(query),
  );
}

describe('an idempotent create commits once', () => {
  it('claims the key, runs the effect and stores the reply inside one transaction, and a replay commits nothing', async () => {
    const module = await createModule(counted.server, [{ name: 'n', type: 'number' }]);
    const idempotencyKey = randomUUID();
    const post = () => call(counted.server, 'POST', `/modules/${module.id}/records`, { body: { data: { n: 1 } }, headers: { 'idempotency-key': idempotencyKey } });

    let created: Awaited<ReturnType<typeof post>> | undefined;
    const first = await statementsOf(async () => {
      created = await post();
    });
    expect(created?.status).toBe(201);
    // Every statement of the request runs between one BEGIN and one COMMIT: no claim committed on its own first.
    expect(first[0]).toMatch(/^begin/i);
    expect(first.at(-1)).toMatch(/^commit$/i);
    expect(first.filter((query) => /^(begin|commit|rollback)/i.test(query))).toHaveLength(2);
    // The lock and the lookup in one statement (idempotency_claim), then the stored reply.
    expect(first.filter((query) => query.includes('idempotency_claim('))).toHaveLength(1);
    expect(first.filter((query) => query.includes('idempotency_keys'))).toHaveLength(1);
    expect(first.filter((query) => /insert into records/i.test(query))).toHaveLength(1);
    // The handler's own transaction is this one: no savepoint around it (two round trips fewer).
    expect(first.filter((query) => /savepoint/i.test(query))).toEqual([]);
    // begin, the claim (lock and lookup); the module with the record it takes and the subscribed endpoints; the stored reply, commit.
    expect(first).toHaveLength(5);

    let replayed: Awaited<ReturnType<typeof post>> | undefined;
    const again = await statementsOf(async () => {
      replayed = await post();
    });
    expect(replayed?.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed?.text).toBe(created?.text);
    expect(again.filter((query) => query.includes('idempotency_claim('))).toHaveLength(1);
    expect(again.filter((query) => query.includes('idempotency_keys'))).toHaveLength(0);
    // The work went out behind the claim, before its answer (one write): it is rolled back, never committed.
    expect(again[0]).toMatch(/^begin/i);
    expect(again.at(-1)).toMatch(/^rollback$/i);
    expect(again.some((query) => /^commit/i.test(query))).toBe(false);
    const [records] = await counted.database.sql<{ n: number }[]>`select count(*)::int as n from records where module_id = ${module.id}`;
    expect(records?.n).toBe(1);
  });
});
