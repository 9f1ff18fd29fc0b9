import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { API_BASE_PATH } from '@charter/contracts';
import type { Sql } from '@charter/db';
import { ApiError } from './errors.ts';
import { DOCS_PAGE, docsAsset } from './http/docs.ts';
import { requestIdFor } from './http/request-id.ts';
import { send, sendError } from './http/respond.ts';
import { createRestHandler } from './http/rest.ts';
import { buildOpenApiDocument } from './openapi/document.ts';
import type { Handlers } from './handlers/types.ts';
import { buildRouter, handlers as defaultHandlers } from './router.ts';

export interface AppOptions {
  sql: Sql;
  /** Largest request body accepted, in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Where server errors are reported (never to the client). Default: console.error. */
  logError?: (message: string, error: unknown) => void;
  /** Replaces endpoint handlers (tests use it to make a handler fail on purpose). */
  handlers?: Partial<Handlers>;
}

export interface App {
  /** The node:http request listener serving the whole API. */
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  /** The OpenAPI document, as served at /api/v1/openapi.json. */
  document: Record<string, unknown>;
}

const HEALTH_TIMEOUT_MS = 2_000;

export function createApp(options: AppOptions): App {
  const { sql } = options;
  const logError = options.logError ?? ((message, error) => console.error(message, error));
  const router = buildRouter({ ...defaultHandlers, ...options.handlers });
  const document = buildOpenApiDocument(router);
  const documentJson = JSON.stringify(document);
  const handleRest = createRestHandler({
    router,
    sql,
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    onServerError: (error, requestId) => logError(`[${requestId}] server error`, error),
  });

  async function serve(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (path === `${API_BASE_PATH}/health`) return health(res, requestId);
      if (path === `${API_BASE_PATH}/openapi.json`) return send(res, 200, requestId, documentJson);
      if (path === '/docs' || path === '/docs/') return send(res, 200, requestId, DOCS_PAGE, {}, 'text/html; charset=utf-8');
      if (path.startsWith('/docs/')) {
        const asset = await docsAsset(path.slice('/docs/'.length));
        if (asset) return send(res, 200, requestId, asset.body, { 'Cache-Control': 'public, max-age=3600' }, asset.type);
      }
    }
    if (path.startsWith(`${API_BASE_PATH}/`)) return handleRest(req, res, requestId, url);
    sendError(res, requestId, new ApiError('not_found', `No route matches ${req.method} ${path}.`));
  }

  async function health(res: ServerResponse, requestId: string): Promise<void> {
    try {
      await Promise.race([
        sql`select 1`,
        new Promise((_, reject) => setTimeout(() => reject(new Error('health check timed out')), HEALTH_TIMEOUT_MS).unref()),
      ]);
      send(res, 200, requestId, JSON.stringify({ status: 'ok', database: 'ok' }));
    } catch (error) {
      logError(`[${requestId}] health check failed`, error);
      sendError(res, requestId, new ApiError('service_unavailable', 'The database is unreachable.'));
    }
  }

  function listener(req: IncomingMessage, res: ServerResponse): void {
    const requestId = requestIdFor(req.headers['x-request-id']);
    serve(req, res, requestId).catch((error: unknown) => {
      logError(`[${requestId}] unhandled error`, error);
      if (!res.headersSent) sendError(res, requestId, error);
      else res.destroy();
    });
  }

  return { listener, document };
}

export interface RunningServer {
  server: Server;
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /**
   * Graceful stop: refuses new connections, lets in-flight requests finish (up to `graceMs`),
   * then closes what is left.
   */
  close(graceMs?: number): Promise<void>;
}

/** Serves an app on `host:port` (port 0 picks a free one). */
export async function listen(app: App, port: number, host = '127.0.0.1'): Promise<RunningServer> {
  const server = createServer({ keepAliveTimeout: 5_000 }, app.listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shownHost}:${address.port}`,
    close: (graceMs = 10_000) =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs).unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}
