import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import postgres from 'postgres';
import { lockDataDir } from './data-dir-lock.ts';

/** The one SQL handle the rest of the project uses, whichever database is behind it. */
export type Sql = postgres.Sql;
/** A transaction handle: inside `sql.begin`, use only this one (PGlite would hang on the pool). */
export type TransactionSql = postgres.TransactionSql;

export interface Database {
  sql: Sql;
  /**
   * For writes that need no durability (rate-limit counters, logs): on a server, a small pool
   * with `synchronous_commit = off`, which roughly doubles a hot counter's throughput. A crash can
   * lose the last few hundred milliseconds of them. On the embedded database, the same as `sql`.
   */
  fastSql: Sql;
  /** `postgres` for a PostgreSQL server, `pglite` for the embedded database. */
  kind: 'postgres' | 'pglite';
  /** Where the embedded database keeps its files (`memory://` when it keeps none). */
  location: string;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** A PostgreSQL connection string. When absent, an embedded PGlite is started. */
  databaseUrl?: string | undefined;
  /** Folder for the embedded database's files; `memory://` keeps nothing. */
  dataDir?: string | undefined;
  /** Pool size for a PostgreSQL server (the embedded database always gets one connection). */
  max?: number | undefined;
  /**
   * Whether a server gets the separate non-durable pool behind `fastSql`. Default true; turn it
   * off for a server that admits one session only (PGlite behind its socket).
   */
  fastPool?: boolean;
  /**
   * Longest a statement may run before PostgreSQL cancels it (error 57014), in milliseconds; 0 or
   * absent means no limit. A PostgreSQL server only: the embedded database cannot interrupt a
   * statement (PGlite ignores `statement_timeout`).
   */
  statementTimeoutMs?: number | undefined;
  /** Called with the text of every statement sent, and which pool sent it (for tests and tracing). */
  onQuery?: (pool: 'sql' | 'fastSql', query: string, parameters: readonly unknown[]) => void;
}

/**
 * PostgreSQL settings of the embedded database, on top of PGlite's own start parameters. PGlite
 * keeps PostgreSQL's shared memory inside its WebAssembly heap and touches all of it at start, so
 * every megabyte of `shared_buffers` is a megabyte of the server's resident memory from the first
 * second: the default 128MB made the idle API about 120 MB larger. A 32MB cache holds the API's
 * working set at the sizes an embedded database serves; the operating system caches the files
 * behind it.
 */
export const EMBEDDED_SETTINGS: Readonly<Record<string, string>> = { shared_buffers: '32MB' };

/**
 * How much of its own code a WebAssembly function must run before V8 recompiles it with its
 * optimizing compiler (a rough count of bytes executed; V8's default is 1,800,000 on Node 20). V8
 * first compiles PGlite's 9 MB of PostgreSQL with its quick baseline compiler; at the default,
 * PostgreSQL's own start-up code (run once per start) crossed the threshold, and optimizing it was
 * about half the CPU of opening an existing folder: 1.2-1.4 s of CPU for open, migration check, one
 * write and close against 0.65-0.73 s with this budget, the same as never optimizing (`--liftoff-only`).
 * Code that keeps running, the statements of a serving process, still gets optimized.
 */
export const EMBEDDED_WASM_TIERING_BUDGET = 2_000_000_000;
let wasmTieringSet = false;

/** Sets EMBEDDED_WASM_TIERING_BUDGET for this process, before PGlite's module is compiled (once). */
function setWasmTiering(): void {
  if (wasmTieringSet) return;
  wasmTieringSet = true;
  setFlagsFromString(`--wasm-tiering-budget=${EMBEDDED_WASM_TIERING_BUDGET}`);
}

/**
 * Creates the files of a new embedded database (PostgreSQL's initdb, in WebAssembly) in a process of
 * its own that ends when they are written. In the server's process, initdb's second PGlite instance
 * and the copies of its heap it makes left about 500 MB resident after the first start, until a full
 * garbage collection, which an idle server does not run.
 */
async function createEmbeddedFiles(dataDir: string): Promise<void> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return;
  const pglite = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const script = `require(${JSON.stringify(pglite)}).PGlite.create(process.argv[1]).then((db) => db.close())`;
  try {
    // The same budget as the server's, for initdb's run-once code: 3.6-3.8 s of CPU instead of 5.2 s, and a
    // peak of 805 MB instead of 860-875 MB.
    await promisify(execFile)(process.execPath, [`--wasm-tiering-budget=${EMBEDDED_WASM_TIERING_BUDGET}`, '-e', script, dataDir], {
      env: { ...process.env, NODE_OPTIONS: '' },
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`Could not create the embedded database in ${dataDir}: ${stderr || (error as Error).message}`);
  }
}

function clientOptions(
  max: number,
  connection: Record<string, string> = {},
  onQuery?: (query: string, parameters: readonly unknown[]) => void,
): postgres.Options<Record<string, postgres.PostgresType>> {
  return {
    max,
    ...(onQuery ? { debug: (_connection: number, query: string, parameters: unknown[]) => onQuery(query, parameters) } : {}),
    // Day windows and quotas are UTC days, whatever the server's own time zone.
    connection: { TimeZone: 'UTC', ...connection },
    onnotice: () => {},
    // Keep connections warm; a request should not pay for a handshake.
    idle_timeout: 0,
    connect_timeout: 10,
    transform: { undefined: null },
  };
}

/**
 * Opens the database: a PostgreSQL server when `databaseUrl` is set, otherwise an embedded
 * PGlite served over a loopback socket so that postgres.js (and so every SQL statement) is
 * the same code path for both.
 */
export async function connect(options: ConnectOptions = {}): Promise<Database> {
  if (options.databaseUrl) {
    const { onQuery } = options;
    const timeout: Record<string, string> = options.statementTimeoutMs ? { statement_timeout: String(options.statementTimeoutMs) } : {};
    const sql = postgres(options.databaseUrl, clientOptions(options.max ?? 10, timeout, onQuery && ((query, parameters) => onQuery('sql', query, parameters))));
    const fastSql =
      options.fastPool === false
        ? sql
        : postgres(
            options.databaseUrl,
            clientOptions(Math.max(2, Math.ceil((options.max ?? 10) / 2)), { ...timeout, synchronous_commit: 'off' }, onQuery && ((query, parameters) => onQuery('fastSql', query, parameters))),
          );
    return {
      sql,
      fastSql,
      kind: 'postgres',
      location: redactUrl(options.databaseUrl),
      close: async () => {
        await Promise.all([sql.end({ timeout: 5 }), fastSql === sql ? undefined : fastSql.end({ timeout: 5 })]);
      },
    };
  }
  const dataDir = options.dataDir ?? 'memory://';
  let unlock = () => {};
  if (!dataDir.startsWith('memory://')) {
    await mkdir(dataDir, { recursive: true });
    unlock = lockDataDir(dataDir);
    await createEmbeddedFiles(dataDir).catch((error: unknown) => {
      unlock();
      throw error;
    });
  }
  setWasmTiering();
  // Loaded here, not at the top: a server on PostgreSQL never needs PGlite's module.
  const [{ PGlite }, { pg_trgm }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite/contrib/pg_trgm'),
    import('@electric-sql/pglite-socket'),
  ]).catch((error: unknown) => {
    unlock();
    throw error;
  });
  const startParams = [...PGlite.defaultStartParams, ...Object.entries(EMBEDDED_SETTINGS).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
  const pglite = await PGlite.create(dataDir, { extensions: { pg_trgm }, startParams }).catch((error: unknown) => {
    unlock();
    throw error;
  });
  // PGlite runs one query at a time in one session: a single connection keeps
  // transactions from interleaving and matches what the socket server admits.
  const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 1 });
  await server.start();
  const [host, port] = server.getServerConn().split(':');
  const sql = postgres({
    ...clientOptions(1),
    host,
    port: Number(port),
    database: 'postgres',
    username: 'postgres',
  });
  return {
    sql,
    fastSql: sql,
    kind: 'pglite',
    location: dataDir,
    async close() {
      await sql.end({ timeout: 5 });
      await server.stop();
      await pglite.close();
      unlock();
    },
  };
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://(unparsable url)';
  }
}
