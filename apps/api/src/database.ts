import { connect, type Database, migrate } from '@charter/db';
import type { Settings } from './config.ts';

/** Opens the database the settings name (a server, or the embedded one) and brings its schema up to date. */
export async function openDatabase(settings: Settings): Promise<Database> {
  const database = await connect({
    databaseUrl: settings.DATABASE_URL,
    dataDir: settings.CHARTER_DATA_DIR,
    max: settings.DATABASE_POOL_SIZE,
    statementTimeoutMs: settings.STATEMENT_TIMEOUT_MS,
  });
  try {
    await migrate(database.sql);
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}
