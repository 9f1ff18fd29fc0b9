export { type ConnectOptions, connect, type Database, EMBEDDED_SETTINGS, EMBEDDED_WASM_TIERING_BUDGET, type Sql, type TransactionSql } from './connect.ts';
export { type MigrationResult, migrate } from './migrate.ts';
export { type Queryable, transaction } from './transaction.ts';
