import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { API_BASE_PATH } from '@charter/contracts';
import type { Sql } from '@charter/db';
import { ApiError } from './errors.ts';
import type { Handlers } from './handlers/types.ts';
import { webhookHandlers } from './handlers/webhooks.ts';
import { consoleAnswer, isConsolePath } from './http/console.ts';
import { createCors } from './http/cors.ts';
import { DOCS_PAGE, DOCS_SECURITY_HEADERS, docsAsset } from './http/docs.ts';
import { requestIdFor } from './http/request-id.ts';
import { requestUrl } from './http/request-target.ts';
import { applyAdmission, send, sendError } from './http/respond.ts';
import { createRestHandler, type RequestState } from './http/rest.ts';
import { IdempotencyStore } from './idempotency/idempotency.ts';
import { memoryAddressLimiter } from './limits/address-window.ts';
import { type Gatekeeper, postgresGatekeeper } from './limits/gatekeeper.ts';
import { type WorkspaceConcurrencyOptions, workspaceConcurrency } from './limits/workspace-concurrency.ts';
import { AccessLogWriter, type RequestLog } from './logs/access-log.ts';
import { purgeExpired, type Retention, resolveRetention } from './maintenance/retention.ts';
import { buildOpenApiDocument } from './openapi/document.ts';
import { downgradeToOpenApi30 } from './openapi/downgrade.ts';
import { createPipeline } from './pipeline/pipeline.ts';
import { buildRouter, handlers as defaultHandlers } from './router.ts';
import { createMcpHandler, MCP_PATH } from './transports/mcp.ts';
import { createTrpcHandler, TRPC_BASE_PATH } from './transports/trpc.ts';
import type { WebhookOptions } from './webhooks/options.ts';

export interface AppOptions {
  /** The database: everything that must be durable goes through it. */
  sql: Sql;
  /** For writes that need no durability (counters, logs): see `Database.fastSql`. Default: `sql`. */
  fastSql?: Sql;
  /** Largest request body accepted, in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Requests per minute per client address on routes without a valid key. Default 300. */
  addressLimitPerMinute?: number;
  /** How long an idempotent request holds its key before a retry may take it over. Default 30 s. */
  idempotencyLockSeconds?: number;
  /** How long logs, usage, idempotency records, counters and finished webhook deliveries are kept (see `DEFAULT_RETENTION`). */
  retention?: Partial<Retention>;
  /**
   * Caps each workspace's concurrent database work in this process (see
   * limits/workspace-concurrency.ts). Default: no cap; the runnable API always sets one.
   */
  workspaceConcurrency?: WorkspaceConcurrencyOptions;
  /** Where server errors are reported (never to the client). Default: console.error. */
  logError?: (message: string, error: unknown) => void;
  /** Replaces endpoint handlers (tests use it to make a handler fail on purpose). */
  handlers?: Partial<Handlers>;
  /** Replaces the PostgreSQL gatekeeper (authentication and rate limits in one statement). */
  gatekeeper?: Gatekeeper;
  /** Replaces the batched PostgreSQL access log. */
  requestLog?: RequestLog;
  /**
   * Origins allowed to call the API from a browser, exactly (`https://app.example.com`; see
   * http/cors.ts). Default: none, and no CORS header is sent.
   */
  corsOrigins?: readonly string[];
  /**
   * Webhook settings: the sealing key of signing secrets, and hosts allowed over HTTP and on
   * private addresses. Default: a key for this process alone (see `ephemeralWebhookOptions`).
   */
  webhooks?: WebhookOptions;
  /** Serves the Model Context Protocol at /api/v1/mcp. Default: off. */
  mcp?: boolean;
}

export interface App {
  /** The node:http request listener serving the whole API. */
  listener: (req: IncomingMessage, res: ServerResponse) => void;
  /** The OpenAPI document, as served at /api/v1/openapi.json. */
  document: Record<string, unknown>;
  /** Writes out the buffered access log now. */
  flush(): Promise<void>;
  /** Flushes and stops background work. Call after the HTTP server has stopped. */
  close(): Promise<void>;
}

// Under the 2 s within which API.md promises an answer, leaving room for the rest of the request.
const HEALTH_TIMEOUT_MS = 1_500;
const MAINTENANCE_INTERVAL_MS = 10 * 60_000;

export function createApp(options: AppOptions): App {
  const { sql } = options;
  const fastSql = options.fastSql ?? sql;
  const logError = options.logError ?? ((message, error) => console.error(message, error));
  const router = buildRouter({ ...defaultHandlers, ...(options.webhooks && webhookHandlers(options.webhooks)), ...options.handlers });
  // The documents are built when first asked for: building them was about a sixth of the CPU of a
  // start on the embedded database (0.15 s), spent before the first request whether or not any
  // client ever reads them.
  let document: Record<string, unknown> | undefined;
  const openApiDocument = () => (document ??= buildOpenApiDocument(router));
  const servedJson = (make: () => Record<string, unknown>) => {
    let json: string | undefined;
    return () => (json ??= JSON.stringify(make()));
  };
  const publicDocuments = new Map([
    [`${API_BASE_PATH}/openapi.json`, servedJson(openApiDocument)],
    // The same document in OpenAPI 3.0.3, for generators that do not read 3.1.
    [`${API_BASE_PATH}/openapi-3.0.json`, servedJson(() => downgradeToOpenApi30(openApiDocument()))],
  ]);
  const addressLimitPerMinute = options.addressLimitPerMinute ?? 300;
  const gatekeeper = options.gatekeeper ?? postgresGatekeeper(fastSql, { addressLimitPerMinute });
  const admitPublic = memoryAddressLimiter(addressLimitPerMinute);
  const requestLog = options.requestLog ?? new AccessLogWriter(fastSql, { onError: (error) => logError('access log write failed', error) });
  const retention = resolveRetention(options.retention);
  const cors = options.corsOrigins?.length ? createCors({ origins: options.corsOrigins, admitAddress: (address) => gatekeeper.admitAddress(address) }) : undefined;
  const idempotency = new IdempotencyStore(sql, options.idempotencyLockSeconds ?? 30, retention.idempotencyHours);
  // Every transport is a thin adapter over the one rule pipeline of this process.
  const pipeline = createPipeline({
    sql,
    gatekeeper,
    idempotency,
    workspaceConcurrency: options.workspaceConcurrency && workspaceConcurrency(options.workspaceConcurrency),
    onServerError: (error: unknown, requestId: string) => logError(`[${requestId}] server error`, error),
  });
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const handleRest = createRestHandler({ router, pipeline, maxBodyBytes });
  const handleTrpc = createTrpcHandler({ router, pipeline, requestLog, maxBodyBytes });
  const handleMcp = options.mcp ? createMcpHandler({ router, pipeline, requestLog, maxBodyBytes }) : undefined;

  // What is past its retention is purged now and then; a slow purge is never run twice at once.
  let purging: Promise<unknown> | undefined;
  const stopPurging = new AbortController();
  const maintenance = setInterval(() => {
    purging ??= purgeExpired(fastSql, retention, { signal: stopPurging.signal })
      .catch((error: unknown) => logError('retention purge failed', error))
      .finally(() => {
        purging = undefined;
      });
  }, MAINTENANCE_INTERVAL_MS);
  maintenance.unref();

  async function servePublic(req: IncomingMessage, res: ServerResponse, state: RequestState, path: string): Promise<boolean> {
    const readOnly = req.method === 'GET' || req.method === 'HEAD';
    const isPublicApi = path === `${API_BASE_PATH}/health` || publicDocuments.has(path);
    const isDocs = readOnly && (path === '/docs' || path === '/docs/' || path.startsWith('/docs/'));
    const isConsole = readOnly && isConsolePath(path);
    if (!isPublicApi && !isDocs && !isConsole) return false;
    const { requestId } = state;
    if (!applyAdmission(res, requestId, admitPublic(state.clientAddress ?? 'unknown'))) return true;
    if (!readOnly) {
      // The path exists, so another method is a 405 naming the ones it takes (RFC 9110), as on every other route.
      sendError(res, requestId, new ApiError('method_not_allowed', `${req.method} is not allowed on ${path}.`), { Allow: 'GET, HEAD' });
      return true;
    }
    if (path === `${API_BASE_PATH}/health`) {
      await health(res, requestId);
      return true;
    }
    const publicDocument = publicDocuments.get(path);
    if (publicDocument !== undefined) {
      send(res, 200, requestId, publicDocument());
      return true;
    }
    if (isConsole) {
      const answer = await consoleAnswer(path);
      if (answer) send(res, answer.status, requestId, answer.body, answer.headers, answer.type);
      return answer !== undefined;
    }
    if (path === '/docs' || path === '/docs/') {
      send(res, 200, requestId, DOCS_PAGE, DOCS_SECURITY_HEADERS, 'text/html; charset=utf-8');
      return true;
    }
    const asset = await docsAsset(path.slice('/docs/'.length));
    if (!asset) return false;
    send(res, 200, requestId, asset.body, { ...DOCS_SECURITY_HEADERS, 'Cache-Control': 'public, max-age=3600' }, asset.type);
    return true;
  }

  async function serve(req: IncomingMessage, res: ServerResponse, state: RequestState, url: URL | undefined): Promise<void> {
    // First, so that every answer below carries the CORS headers; a preflight ends here.
    if (cors && (await cors(req, res, state))) return;
    if (!url) return void sendError(res, state.requestId, new ApiError('bad_request', 'The request target is not a valid path.'));
    if (await servePublic(req, res, state, url.pathname)) return;
    if (handleMcp && url.pathname === MCP_PATH) return handleMcp(req, res, state);
    if (isTrpcPath(url.pathname)) return handleTrpc(req, res, state, url);
    if (url.pathname.startsWith(`${API_BASE_PATH}/`)) return handleRest(req, res, state, url);
    sendError(res, state.requestId, new ApiError('not_found', `No route matches ${req.method} ${url.pathname}.`));
  }

  /**
   * 200 when a trivial query answers within HEALTH_TIMEOUT_MS, else 503 with `database:
   * "unreachable"`. It uses no other statement, so it answers (and recovers by itself, as the pool
   * reconnects) whatever state the database is in.
   */
  async function health(res: ServerResponse, requestId: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sql`select 1`,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('health check timed out')), HEALTH_TIMEOUT_MS);
        }),
      ]);
      send(res, 200, requestId, JSON.stringify({ status: 'ok', database: 'ok' }));
    } catch (error) {
      logError(`[${requestId}] health check failed`, error);
      sendError(res, requestId, new ApiError('service_unavailable', 'The database is unreachable.', { database: 'unreachable' }, { 'Retry-After': '5' }));
    } finally {
      clearTimeout(timer);
    }
  }

  function listener(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    // Read now: the REST edge rewrites req.url for trpc-to-openapi.
    const url = requestUrl(req.url);
    const path = url?.pathname ?? (req.url ?? '/').slice(0, 2048);
    const state: RequestState = {
      requestId: requestIdFor(req.headers['x-request-id']),
      clientAddress: req.socket.remoteAddress ?? null,
    };
    // Every answered call goes to the access log, however the edge answered it (tRPC and MCP log their own calls).
    res.once('finish', () => {
      if (url && (isTrpcPath(url.pathname) || (handleMcp && url.pathname === MCP_PATH))) return;
      requestLog.record({
        workspaceId: state.principal?.workspaceId ?? null,
        keyId: state.principal?.keyId ?? null,
        method: req.method ?? 'GET',
        path,
        status: res.statusCode,
        latencyMs: performance.now() - started,
        requestId: state.requestId,
        clientAddress: state.clientAddress,
        at: new Date(),
      });
    });
    serve(req, res, state, url).catch((error: unknown) => {
      logError(`[${state.requestId}] unhandled error`, error);
      if (!res.headersSent) sendError(res, state.requestId, error);
      else res.destroy();
    });
  }

  return {
    listener,
    get document() {
      return openApiDocument();
    },
    flush: () => requestLog.flush(),
    async close() {
      clearInterval(maintenance);
      stopPurging.abort();
      await purging;
      await requestLog.close();
    },
  };
}

function isTrpcPath(path: string): boolean {
  return path === TRPC_BASE_PATH || path.startsWith(`${TRPC_BASE_PATH}/`);
}

/**
 * Longest request line plus headers accepted. Node's default, 16 KiB, is less than the longest
 * query string the contracts allow (a 2,048-character cursor is up to 24 KiB percent-encoded):
 * such a request must reach validation and get its 422, not a 431.
 */
const MAX_HEADER_BYTES = 64 * 1024;

/**
 * Requests that node:http cannot parse never reach the listener: without this, Node answers them
 * with a bare status and no body. They get the API's error envelope and a request ID like every
 * other response: 431 for a request line and headers beyond MAX_HEADER_BYTES, 400 for the rest.
 */
function answerUnparsable(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const apiError =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? new ApiError('request_headers_too_large', `The request line and headers exceed ${MAX_HEADER_BYTES} bytes.`)
      : new ApiError('bad_request', 'The request is not well-formed HTTP/1.1.');
  const requestId = requestIdFor(undefined);
  const body = JSON.stringify(apiError.toEnvelope(requestId));
  socket.end(
    `HTTP/1.1 ${apiError.status} ${STATUS_CODES[apiError.status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Request-ID: ${requestId}\r\nX-Content-Type-Options: nosniff\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}

export interface RunningServer {
  server: Server;
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /**
   * Graceful stop: refuses new connections, lets in-flight requests finish (up to `graceMs`),
   * closes what is left, then flushes the app's buffered access log.
   */
  close(graceMs?: number): Promise<void>;
}

/** Serves an app on `host:port` (port 0 picks a free one). */
export async function listen(app: App, port: number, host = '127.0.0.1'): Promise<RunningServer> {
  let closing = false;
  const server = createServer({ keepAliveTimeout: 5_000, maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    // While stopping, tell keep-alive clients to go: their connection closes after this answer.
    if (closing) res.setHeader('Connection', 'close');
    app.listener(req, res);
  });
  server.on('clientError', answerUnparsable);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shownHost}:${address.port}`,
    async close(graceMs = 10_000) {
      closing = true;
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs).unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      await app.close();
    },
  };
}
