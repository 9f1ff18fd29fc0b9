export { connect, type ConnectOptions, type Database, type Sql, type TransactionSql } from './connect.ts';
export { migrate, type MigrationResult } from './migrate.ts';
export { type Queryable, transaction } from './transaction.ts';
