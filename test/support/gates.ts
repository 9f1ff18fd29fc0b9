import { inject } from 'vitest';

/** Whether the run's database is a PostgreSQL server (DATABASE_URL) rather than the embedded PGlite. */
export const onServer = inject('databaseKind') === 'postgres';

/**
 * The name of a suite that only a PostgreSQL server can run (several processes, locks, real
 * concurrency): on the embedded database it is skipped, and its name then says why.
 */
export const serverOnly = (name: string) => (onServer ? name : `${name} (skipped: needs a PostgreSQL server; set DATABASE_URL)`);
