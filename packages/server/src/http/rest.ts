import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_BASE_PATH, type EndpointContract } from '@charter/contracts';
import type { Sql } from '@charter/db';
import type { AnyTRPCRouter } from '@trpc/server';
import { createOpenApiNodeHttpHandler, createProcedureCache, unwrapZodType } from 'trpc-to-openapi';
import type { z } from 'zod';
import { authenticate, touchLastUsed } from '../auth/authenticate.ts';
import { unauthorized } from '../auth/enforce-contract.ts';
import type { Context } from '../context.ts';
import { ApiError } from '../errors.ts';
import { parseJsonObject, parseQuery, readBody } from './read-body.ts';
import { send, sendError } from './respond.ts';

/**
 * The REST serving path, in one module so that it can be swapped: it matches a route from the
 * contracts, authenticates, reads the body, hands the request to trpc-to-openapi, and writes the
 * answer in the API's own terms (success status from the contract, one error envelope, Link).
 */
export interface RestHandlerOptions {
  router: AnyTRPCRouter;
  sql: Sql;
  maxBodyBytes: number;
  /** Called with every error that becomes a 500, for the server log. */
  onServerError?: (error: unknown, requestId: string) => void;
}

type RestRequest = IncomingMessage & { body?: unknown; query?: unknown; charter?: { ctx: Context; error?: unknown } };

const METHODS = ['GET', 'POST', 'PATCH', 'DELETE'] as const;

export function createRestHandler(options: RestHandlerOptions) {
  const { router, sql, maxBodyBytes } = options;
  lockDeclaredCoercion(router);
  const findProcedure = createProcedureCache(router);
  const dispatch = createOpenApiNodeHttpHandler({
    router,
    createContext: ({ req }: { req: unknown }) => (req as RestRequest).charter?.ctx as Context,
    onError: ({ error, req }: { error: unknown; req: unknown }) => {
      const state = (req as RestRequest).charter;
      if (state) state.error = error;
    },
    maxBodySize: maxBodyBytes,
  } as unknown as Parameters<typeof createOpenApiNodeHttpHandler>[0]);

  return async function handleRest(req: IncomingMessage, res: ServerResponse, requestId: string, url: URL): Promise<void> {
    const path = url.pathname.slice(API_BASE_PATH.length) || '/';
    const method = (req.method ?? 'GET') as (typeof METHODS)[number];
    const match = findProcedure(method, path);
    if (!match?.procedure) {
      const allowed = METHODS.filter((candidate) => findProcedure(candidate, path));
      if (allowed.length > 0) {
        sendError(res, requestId, new ApiError('method_not_allowed', `${method} is not allowed on ${url.pathname}.`), {
          Allow: allowed.join(', '),
        });
      } else {
        sendError(res, requestId, new ApiError('not_found', `No route matches ${method} ${url.pathname}.`));
      }
      return;
    }
    const contract = (match.procedure.procedure._def.meta as { contract: EndpointContract }).contract;

    const principal = await authenticate(sql, req.headers);
    if (!principal) {
      sendError(res, requestId, unauthorized());
      return;
    }
    touchLastUsed(sql, principal, (error) => options.onServerError?.(error, requestId));

    const restReq = req as RestRequest;
    try {
      if (method === 'POST' || method === 'PATCH') {
        restReq.body = parseJsonObject(await readBody(req, maxBodyBytes), req.headers['content-type']);
      } else {
        // GET takes its input from the query; DELETE from the path alone.
        restReq.query = method === 'GET' ? parseQuery(url.searchParams) : {};
      }
    } catch (error) {
      sendError(res, requestId, error);
      return;
    }
    if (method !== 'GET' && req.headers['content-type'] === undefined) {
      // trpc-to-openapi insists on a content type even for an empty body; the body is parsed already.
      req.headers['content-type'] = 'application/json';
    }

    const ctx: Context = { sql, requestId, principal, listing: {} };
    restReq.charter = { ctx };
    restReq.url = path + url.search;
    const captured = new CapturedResponse(res);
    await dispatch(restReq, captured as unknown as ServerResponse);

    if (restReq.charter.error !== undefined || captured.statusCode >= 400) {
      const apiError = sendError(res, requestId, restReq.charter.error ?? new Error(`status ${captured.statusCode}`));
      if (apiError.status >= 500) options.onServerError?.(restReq.charter.error, requestId);
      return;
    }
    const headers: Record<string, string> = {};
    if (ctx.listing.nextCursor) headers.Link = `<${nextPageUrl(url, ctx.listing.nextCursor)}>; rel="next"`;
    const body = ctx.listing.fields ? projectList(captured.body, ctx.listing.fields) : captured.body;
    send(res, contract.successStatus, requestId, contract.successStatus === 204 ? undefined : body, headers);
  };
}

/** The same request with `cursor` set to the next page's and `page` dropped. */
function nextPageUrl(url: URL, cursor: string): string {
  const params = new URLSearchParams(url.searchParams);
  params.delete('page');
  params.set('cursor', cursor);
  return `${url.pathname}?${params.toString()}`;
}

/** Sparse fieldsets: keeps only the requested fields of each item of a list body. */
function projectList(body: string, fields: readonly string[]): string {
  const parsed = JSON.parse(body) as { data: Record<string, unknown>[] };
  parsed.data = parsed.data.map((item) => Object.fromEntries(fields.filter((field) => field in item).map((field) => [field, item[field]])));
  return JSON.stringify(parsed);
}

/**
 * Collects what trpc-to-openapi writes, so that the edge writes the real response itself. It
 * forwards listener calls to the real response: tRPC uses them to abort on client disconnect.
 */
class CapturedResponse {
  statusCode = 200;
  body = '';
  constructor(private readonly real: ServerResponse) {}
  setHeader(): this {
    return this;
  }
  end(body?: string): this {
    this.body = body ?? '';
    return this;
  }
  get writableEnded(): boolean {
    return this.real.writableEnded;
  }
  once(event: string, listener: (...args: unknown[]) => void): this {
    this.real.once(event, listener);
    return this;
  }
  off(event: string, listener: (...args: unknown[]) => void): this {
    this.real.off(event, listener);
    return this;
  }
}

/**
 * trpc-to-openapi switches on coercion inside every input schema it serves, globally and for
 * good (after one REST call a body's `"required": "false"` would parse as `true`). Bodies are
 * JSON and need no coercion, and query schemas declare theirs explicitly, so each number,
 * boolean, bigint and date schema keeps the coercion its contract declared.
 */
function lockDeclaredCoercion(router: AnyTRPCRouter): void {
  const procedures = (router._def as unknown as { procedures: Record<string, { _def: { inputs: z.ZodType[] } }> }).procedures;
  for (const procedure of Object.values(procedures)) {
    for (const input of procedure._def.inputs) lockObject(input);
  }
}

const COERCIBLE = new Set(['number', 'boolean', 'bigint', 'date']);

function lockObject(schema: unknown): void {
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  if (!shape) return;
  for (const field of Object.values(shape)) {
    const inner = unwrapZodType(field as never, false) as unknown as { _zod: { def: { type: string; coerce?: boolean } } };
    const def = inner._zod.def;
    if (COERCIBLE.has(def.type)) {
      // Schemas are shared between contracts: lock each one once.
      if (Object.getOwnPropertyDescriptor(def, 'coerce')?.get) continue;
      const declared = def.coerce === true;
      Object.defineProperty(def, 'coerce', { get: () => declared, set: () => {}, configurable: false, enumerable: true });
    } else if (def.type === 'object') {
      lockObject(inner);
    }
  }
}
