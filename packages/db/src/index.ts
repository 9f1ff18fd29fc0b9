export { type ConnectOptions, connect, type Database, EMBEDDED_SETTINGS, type Sql, type TransactionSql } from './connect.ts';
export { type MigrationResult, migrate } from './migrate.ts';
export { type Queryable, transaction } from './transaction.ts';
