import type { Sql, TransactionSql } from './connect.ts';

/** A handle that runs queries: the pool, or a transaction in progress. */
export type Queryable = Sql | TransactionSql;

/**
 * Runs `work` in a transaction: a new one on the pool, or a savepoint inside the transaction
 * already open, so that code written for either composes (an idempotent request runs its
 * handler inside the transaction that also stores its response).
 */
export function transaction<T>(sql: Queryable, work: (tx: TransactionSql) => Promise<T>): Promise<T> {
  if ('savepoint' in sql) return (sql as TransactionSql).savepoint(work) as Promise<T>;
  return (sql as Sql).begin(work) as Promise<T>;
}
