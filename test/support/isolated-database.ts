import { randomBytes } from 'node:crypto';
import { connect, type Database, migrate } from '@charter/db';
import { inject } from 'vitest';

export interface IsolatedDatabase {
  /** A URL for processes: its own database on a PostgreSQL server, or the run's embedded one. */
  url: string;
  database: Database;
  /** Closes the connection and drops the database it made. */
  close(): Promise<void>;
}

/**
 * A database of this test file's own on a PostgreSQL server, migrated: webhook workers claim every
 * due delivery of the database they run on, so tests of workers must not share theirs with other
 * files running at the same time (a PostgreSQL run takes two files at once). On the embedded
 * database, files take turns, and the run's database is used.
 */
export async function openIsolatedDatabase(max = 4): Promise<IsolatedDatabase> {
  const shared = inject('databaseUrl');
  if (inject('databaseKind') !== 'postgres') {
    const database = await connect({ databaseUrl: shared, max: 1, fastPool: false });
    return { url: shared, database, close: () => database.close() };
  }
  const name = `charter_test_${randomBytes(6).toString('hex')}`;
  const admin = await connect({ databaseUrl: shared, max: 1, fastPool: false });
  await admin.sql.unsafe(`create database ${name}`);
  const url = new URL(shared);
  url.pathname = `/${name}`;
  const database = await connect({ databaseUrl: url.toString(), max, fastPool: false });
  await migrate(database.sql);
  return {
    url: url.toString(),
    database,
    async close() {
      await database.close();
      await admin.sql.unsafe(`drop database if exists ${name} with (force)`);
      await admin.close();
    },
  };
}
