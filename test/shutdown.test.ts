import { connect } from '@charter/db';
import { createWorkspace } from '@charter/server';
import { describe, expect, inject, it } from 'vitest';
import { onServer, serverOnly } from './support/gates.ts';
import { startApiProcess } from './support/process.ts';
import { call } from './support/server.ts';
import { sleep } from './support/time.ts';

describe.skipIf(!onServer)(serverOnly('SIGTERM under load'), () => {
  it('finishes in-flight requests, and every request that got a response is in the access log', async () => {
    const databaseUrl = inject('databaseUrl');
    const database = await connect({ databaseUrl, max: 2 });
    try {
      const { key } = await createWorkspace(database.sql, { name: 'Shutdown' });
      const api = await startApiProcess({ DATABASE_URL: databaseUrl });
      const answered: string[] = [];
      let stop = false;
      const run = `term-${Date.now()}`;
      let sequence = 0;
      const workers = Array.from({ length: 20 }, async () => {
        while (!stop) {
          const requestId = `${run}-${sequence++}`;
          try {
            const response = await call({ url: api.url, key }, 'GET', '/modules', { headers: { 'x-request-id': requestId } });
            if (response.headers.get('x-request-id') === requestId) answered.push(requestId);
          } catch {
            // Refused at connect once the listener has closed: no response, so not in `answered`.
            await sleep(5);
          }
        }
      });
      // SIGTERM once the server is busy: a wait for a count, not for a time a loaded machine may need more of.
      const deadline = Date.now() + 30_000;
      while (answered.length <= 100 && Date.now() < deadline) await sleep(20);
      const exited = api.stop('SIGTERM');
      const code = await exited;
      stop = true;
      await Promise.all(workers);

      expect(code).toBe(0);
      expect(answered.length).toBeGreaterThan(100);
      const logged = await database.sql<{ request_id: string }[]>`
        select request_id from access_logs where request_id like ${`${run}-%`}`;
      const inLog = new Set(logged.map((row) => row.request_id));
      const missing = answered.filter((id) => !inLog.has(id));
      expect(missing).toEqual([]);
    } finally {
      await database.close();
    }
  });
});
