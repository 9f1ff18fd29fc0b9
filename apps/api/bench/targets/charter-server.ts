/**
 * Charter's server as `src/main.ts` builds it (`createApp` + `listen`) over the PostgreSQL server
 * in DATABASE_URL, with no data of its own: the bench that starts it makes the data it measures.
 * Used by list-growth.bench.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '@charter/db';
import { createApp, listen } from '@charter/server';
import { announceReady, stopWhenStdinEnds } from '../lib/protocol.ts';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error('Set DATABASE_URL to a PostgreSQL server.');
const database = await connect({ databaseUrl });
const app = createApp({ sql: database.sql, fastSql: database.fastSql });
const running = await listen(app, 0, '127.0.0.1');

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await running.close(1_000);
  // Requests whose client already hung up may still be running their queries.
  await sleep(500);
  await database.close();
  process.exit(0);
}
stopWhenStdinEnds(() => void stop());
process.on('SIGTERM', () => void stop());

const [server] = await database.sql<{ server_version: string }[]>`show server_version`;
announceReady({ url: running.url, facts: { database: `PostgreSQL ${server?.server_version.split(' ')[0] ?? '?'} server at ${database.location}` } });
