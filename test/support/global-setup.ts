import { connect, migrate } from '@charter/db';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseKind: 'postgres' | 'pglite';
  }
}

/**
 * One database for the whole run: the PostgreSQL server named by DATABASE_URL, or else one
 * embedded PGlite served on a loopback socket that every test file connects to. Every test
 * makes its own workspace, so files share the database without seeing each other's data.
 */
export default async function setup(project: TestProject) {
  let databaseUrl = process.env.DATABASE_URL;
  let stop = async () => {};
  if (!databaseUrl) {
    const pglite = await PGlite.create('memory://', { extensions: { pg_trgm } });
    const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 2 });
    await server.start();
    databaseUrl = `postgres://postgres@${server.getServerConn()}/postgres`;
    stop = async () => {
      await server.stop();
      await pglite.close();
    };
  }
  const kind = process.env.DATABASE_URL ? 'postgres' : 'pglite';
  const database = await connect({ databaseUrl, max: 1, fastPool: false });
  await migrate(database.sql);
  await database.close();
  console.log(`Whole-system tests use ${kind === 'pglite' ? 'the embedded PGlite' : 'the PostgreSQL server in DATABASE_URL'}.`);
  project.provide('databaseUrl', databaseUrl);
  project.provide('databaseKind', kind);
  return stop;
}
