import { connect, type Database } from '@charter/db';
import { type App, createApp, createWorkspace, listen, type RunningServer } from '@charter/server';
import { afterAll, beforeAll, inject } from 'vitest';

/** A server whose every database statement is recorded, for tests that count what a request costs. */
export interface CountedServer {
  /** The base URL and a key of the server's workspace, as `call` takes them (set in beforeAll). */
  server: { url: string; key: string };
  app: App;
  /** Every statement sent since the last reset, whitespace collapsed. */
  statements: string[];
  database: Database;
}

/** Starts a counted server for the test file (beforeAll) and stops it after (afterAll). */
export function countedServer(workspaceName: string): CountedServer {
  const counted = { statements: [] as string[] } as CountedServer;
  let running: RunningServer;
  beforeAll(async () => {
    const pglite = inject('databaseKind') === 'pglite';
    counted.database = await connect({
      databaseUrl: inject('databaseUrl'),
      max: pglite ? 1 : 10,
      fastPool: !pglite,
      onQuery: (_pool, query) => counted.statements.push(query.replace(/\s+/g, ' ').trim()),
    });
    counted.app = createApp({ sql: counted.database.sql, fastSql: counted.database.fastSql, logError: () => {}, addressLimitPerMinute: 1_000_000 });
    running = await listen(counted.app, 0);
    counted.server = { url: running.url, key: (await createWorkspace(counted.database.sql, { name: workspaceName })).key };
  });
  afterAll(async () => {
    await running?.close(1000);
    await counted.database?.close();
  });
  return counted;
}
