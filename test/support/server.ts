import { connect, type Database } from '@charter/db';
import { type App, type AppOptions, createApp, createWorkspace, listen, type RunningServer } from '@charter/server';
import { inject } from 'vitest';

export interface TestServer {
  url: string;
  /** The first key of the server's first workspace, with every scope. */
  key: string;
  workspaceId: string;
  database: Database;
  app: App;
  running: RunningServer;
  close(): Promise<void>;
}

/** Opens the run's shared database (see global-setup.ts). */
export async function openTestDatabase(): Promise<Database> {
  const kind = inject('databaseKind');
  // The embedded database serves one query at a time: one connection per test file is plenty.
  return connect({ databaseUrl: inject('databaseUrl'), max: kind === 'pglite' ? 1 : 10, fastPool: kind !== 'pglite' });
}

/** A real server on a free loopback port, over the run's database, with a fresh workspace. */
export async function startTestServer(options: Omit<AppOptions, 'sql'> = {}): Promise<TestServer> {
  const database = await openTestDatabase();
  const app = createApp({
    sql: database.sql,
    fastSql: database.fastSql,
    logError: process.env.TEST_LOG ? undefined : () => {},
    // Every test client shares 127.0.0.1; the address limit has tests of its own.
    addressLimitPerMinute: 1_000_000,
    ...options,
  });
  const running = await listen(app, 0);
  const workspace = await createWorkspace(database.sql, { name: 'Test workspace' });
  return {
    url: running.url,
    key: workspace.key,
    workspaceId: workspace.workspaceId,
    database,
    app,
    running,
    async close() {
      await running.close(1_000);
      await database.close();
    },
  };
}

export interface ApiResponse<Body = any> {
  status: number;
  headers: Headers;
  body: Body;
  text: string;
}

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
}

/** One HTTP request to `/api/v1<path>`; JSON bodies are parsed, others left as text. */
export async function call<Body = any>(server: { url: string; key: string }, method: string, path: string, options: CallOptions = {}): Promise<ApiResponse<Body>> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? server.key : options.key;
  if (key !== null) headers.authorization ??= `Bearer ${key}`;
  let body: string | Buffer | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${server.url}/api/v1${path}`, { method, headers, body: body as BodyInit | undefined });
  const text = await response.text();
  let parsed: unknown = text;
  if (response.headers.get('content-type')?.startsWith('application/json')) parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: parsed as Body, text };
}

/** Creates a module with the given fields and returns it. */
export async function createModule(server: { url: string; key: string }, fields: unknown[] = [], name = `Module ${Math.random().toString(36).slice(2)}`) {
  const response = await call(server, 'POST', '/modules', { body: { name, fields } });
  if (response.status !== 201) throw new Error(`createModule: ${response.status} ${response.text}`);
  return response.body as { id: string; name: string };
}
