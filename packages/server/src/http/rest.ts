import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_BASE_PATH, type EndpointContract } from '@charter/contracts';
import type { Queryable, Sql } from '@charter/db';
import type { AnyTRPCRouter } from '@trpc/server';
import { createOpenApiNodeHttpHandler, createProcedureCache, unwrapZodType } from 'trpc-to-openapi';
import type { z } from 'zod';
import { presentedKey } from '../auth/api-key.ts';
import { touchLastUsed } from '../auth/last-used.ts';
import { authorize, unauthorized } from '../auth/enforce-contract.ts';
import type { Context, Principal } from '../context.ts';
import { ApiError, validationFailed, zodIssuesToFieldErrors } from '../errors.ts';
import { fingerprint, type IdempotencyStore, type IdempotencyTarget, idempotencyErrors, parseIdempotencyKey } from '../idempotency/idempotency.ts';
import type { Gatekeeper } from '../limits/gatekeeper.ts';
import { type Turn, type WorkspaceConcurrency, workspaceBusy } from '../limits/workspace-concurrency.ts';
import { parseJsonObject, parseQuery, readBody } from './read-body.ts';
import { applyAdmission, errorAnswer, send, sendError } from './respond.ts';

/**
 * The REST serving path, in one module so that it can be swapped: it admits the request (key,
 * rate limits), matches a route from the contracts, reads the body, hands the request to
 * trpc-to-openapi — inside one transaction with its stored response when it carries an
 * Idempotency-Key — and writes the answer in the API's own terms (success status from the
 * contract, one error envelope, rate-limit headers, Link).
 */
export interface RestHandlerOptions {
  router: AnyTRPCRouter;
  sql: Sql;
  gatekeeper: Gatekeeper;
  idempotency: IdempotencyStore;
  maxBodyBytes: number;
  /** Caps each workspace's concurrent database work; none when absent. */
  workspaceConcurrency?: WorkspaceConcurrency | undefined;
  /** Called with every error that becomes a 500, for the server log. */
  onServerError?: (error: unknown, requestId: string) => void;
}

/** What the edge learns about a request, for the access log. */
export interface RequestState {
  requestId: string;
  clientAddress: string | null;
  principal?: Principal;
}

type RestRequest = IncomingMessage & { body?: unknown; query?: unknown; charter?: { ctx: Context; error?: unknown } };

/** A response, computed before it is written: idempotent requests store it first. */
interface Outcome {
  status: number;
  body: string | undefined;
  headers: Record<string, string>;
  error?: ApiError;
}

const METHODS = ['GET', 'POST', 'PATCH', 'DELETE'] as const;

class Rollback extends Error {
  constructor(readonly outcome: Outcome) {
    super('rollback');
  }
}

export function createRestHandler(options: RestHandlerOptions) {
  const { router, sql, gatekeeper, idempotency, maxBodyBytes } = options;
  lockDeclaredCoercion(router);
  const findProcedure = createProcedureCache(router);
  const unlimited: Turn = { release() {} };
  const takeTurn = async (workspaceId: string): Promise<Turn | undefined> =>
    options.workspaceConcurrency ? options.workspaceConcurrency.acquire(workspaceId) : unlimited;
  const dispatch = createOpenApiNodeHttpHandler({
    router,
    createContext: ({ req }: { req: unknown }) => (req as RestRequest).charter?.ctx as Context,
    onError: ({ error, req }: { error: unknown; req: unknown }) => {
      const state = (req as RestRequest).charter;
      if (state) state.error = error;
    },
    maxBodySize: maxBodyBytes,
  } as unknown as Parameters<typeof createOpenApiNodeHttpHandler>[0]);

  /** Runs the procedure through trpc-to-openapi and turns what it wrote into an Outcome. */
  async function run(req: RestRequest, res: ServerResponse, ctx: Context, contract: EndpointContract, url: URL): Promise<Outcome> {
    req.charter = { ctx };
    const captured = new CapturedResponse(res);
    await dispatch(req, captured as unknown as ServerResponse);
    if (req.charter.error !== undefined || captured.statusCode >= 400) {
      const outcome = errorAnswer(req.charter.error ?? new Error(`status ${captured.statusCode}`), ctx.requestId);
      if (outcome.status >= 500) options.onServerError?.(req.charter.error, ctx.requestId);
      return outcome;
    }
    const headers: Record<string, string> = {};
    if (ctx.listing.nextCursor) headers.Link = `<${nextPageUrl(url, ctx.listing.nextCursor)}>; rel="next"`;
    const body = ctx.listing.fields ? projectList(captured.body, ctx.listing.fields) : captured.body;
    return { status: contract.successStatus, body: contract.successStatus === 204 ? undefined : body, headers };
  }

  /**
   * An idempotent request: claim the key, then run the handler and store its response in one
   * transaction. Errors roll the effect back; a 4xx is then stored on its own, a 5xx frees the key.
   */
  async function runIdempotent(req: RestRequest, res: ServerResponse, ctx: Context, contract: EndpointContract, url: URL, target: IdempotencyTarget): Promise<Outcome> {
    const claim = await idempotency.claim(target);
    if (claim.kind === 'replay') {
      return { status: claim.status, body: claim.status === 204 ? undefined : claim.body, headers: { 'Idempotent-Replayed': 'true' } };
    }
    if (claim.kind !== 'owner') return errorAnswer(idempotencyErrors(claim.kind), ctx.requestId);
    let outcome: Outcome;
    try {
      outcome = await sql.begin(async (tx) => {
        const result = await run(req, res, { ...ctx, sql: tx as Queryable }, contract, url);
        if (result.error) throw new Rollback(result);
        if (!(await idempotency.complete(tx, target, claim.owner, result.status, result.body ?? ''))) {
          throw new Rollback(errorAnswer(idempotencyErrors('in-flight'), ctx.requestId));
        }
        return result;
      });
    } catch (error) {
      if (!(error instanceof Rollback)) {
        await idempotency.release(target, claim.owner).catch(() => {});
        throw error;
      }
      outcome = error.outcome;
      if (outcome.error?.code === 'idempotency_key_in_use') return outcome;
      if (outcome.status < 500) await idempotency.complete(sql, target, claim.owner, outcome.status, outcome.body ?? '');
      else await idempotency.release(target, claim.owner);
    }
    return outcome;
  }

  return async function handleRest(req: IncomingMessage, res: ServerResponse, state: RequestState, url: URL): Promise<void> {
    const { requestId } = state;
    const path = url.pathname.slice(API_BASE_PATH.length) || '/';
    const method = (req.method ?? 'GET') as (typeof METHODS)[number];

    // 1. Admission first, so that every request is counted, whatever the edge answers.
    const presented = presentedKey(req.headersDistinct);
    const admitted = await gatekeeper.admitKey(presented);
    const decision = admitted?.decision ?? (await gatekeeper.admitAddress(state.clientAddress ?? 'unknown'));
    if (admitted) {
      state.principal = admitted.principal;
      touchLastUsed(sql, admitted.principal, (error) => options.onServerError?.(error, requestId));
    }
    if (!applyAdmission(res, requestId, decision)) return;

    // 2. The route, from the contracts.
    const match = findProcedure(method, path);
    if (!match?.procedure) {
      const allowed = METHODS.filter((candidate) => findProcedure(candidate, path));
      if (allowed.length > 0) {
        sendError(res, requestId, new ApiError('method_not_allowed', `${method} is not allowed on ${url.pathname}.`), { Allow: allowed.join(', ') });
      } else {
        sendError(res, requestId, new ApiError('not_found', `No route matches ${method} ${url.pathname}.`));
      }
      return;
    }
    const procedure = match.procedure.procedure;
    const contract = (procedure._def.meta as { contract: EndpointContract }).contract;
    if (!admitted) return void sendError(res, requestId, unauthorized());

    // 3. Input, scopes, and for an idempotent request its validation: all before the key is claimed,
    // so that a request refused here stores nothing and the corrected one may reuse its key.
    const restReq = req as RestRequest;
    let idempotencyKey: string | undefined;
    try {
      // Writes take their input from the path and the body: a query parameter there would be ignored, so it is refused.
      if (method !== 'GET') refuseQuery(url.searchParams);
      let rawInput: Record<string, unknown>;
      if (method === 'POST' || method === 'PATCH') {
        restReq.body = parseJsonObject(await readBody(req, maxBodyBytes), req.headers['content-type']);
        rawInput = { ...(restReq.body as Record<string, unknown>), ...match.pathInput };
      } else {
        // GET takes its input from the query; DELETE from the path alone.
        restReq.query = method === 'GET' ? parseQuery(url.searchParams) : {};
        rawInput = { ...match.pathInput };
      }
      authorize(contract, admitted.principal, rawInput);
      if (contract.idempotent) idempotencyKey = parseIdempotencyKey(req.headersDistinct['idempotency-key']);
      if (idempotencyKey !== undefined) await validateInput(procedure, rawInput);
    } catch (error) {
      return void sendError(res, requestId, error);
    }
    if (method !== 'GET') {
      // The body is parsed already (any JSON media type, in any case); trpc-to-openapi accepts
      // only this exact value, and insists on one even for an empty body.
      req.headers['content-type'] = 'application/json';
    }
    restReq.url = path + url.search;

    // 4. The handler, within the workspace's share of database work, with its stored reply when idempotent.
    const turn = await takeTurn(admitted.principal.workspaceId);
    if (!turn) return void sendError(res, requestId, workspaceBusy());
    const ctx: Context = { sql, requestId, principal: admitted.principal, listing: {} };
    let outcome: Outcome;
    try {
      outcome = idempotencyKey
        ? await runIdempotent(restReq, res, ctx, contract, url, {
            keyId: admitted.principal.keyId,
            idempotencyKey,
            fingerprint: fingerprint(method, url, restReq.body),
            sealWith: contract.returnsSecret ? presented : undefined,
          })
        : await run(restReq, res, ctx, contract, url);
    } finally {
      turn.release();
    }
    // A secret must not linger in a browser's or a proxy's cache.
    const secretHeaders: Record<string, string> = contract.returnsSecret ? { 'Cache-Control': 'no-store' } : {};
    send(res, outcome.status, requestId, outcome.body, { ...outcome.headers, ...secretHeaders });
  };
}

function refuseQuery(params: URLSearchParams): void {
  const names = [...new Set(params.keys())];
  if (names.length === 0) return;
  const errors: Record<string, string[]> = Object.create(null);
  for (const name of names) errors[name] = [`Unknown parameter "${name}": this method takes no query parameters.`];
  throw validationFailed(errors);
}

/** Checks input against the procedure's own input schema, as tRPC will: 422 on failure. */
async function validateInput(procedure: { _def: unknown }, rawInput: Record<string, unknown>): Promise<void> {
  const [schema] = (procedure._def as { inputs: z.ZodType[] }).inputs;
  const result = await schema?.safeParseAsync(rawInput);
  if (result && !result.success) throw validationFailed(zodIssuesToFieldErrors(result.error.issues));
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
