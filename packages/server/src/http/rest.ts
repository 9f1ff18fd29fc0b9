import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_BASE_PATH, type EndpointContract } from '@charter/contracts';
import type { AnyTRPCRouter } from '@trpc/server';
import { createProcedureCache, unwrapZodType } from 'trpc-to-openapi';
import type { z } from 'zod';
import { presentedKey } from '../auth/api-key.ts';
import { unauthorized } from '../auth/enforce-contract.ts';
import type { Principal } from '../context.ts';
import { ApiError, validationFailed } from '../errors.ts';
import { fingerprint } from '../idempotency/idempotency.ts';
import type { ServedProcedure } from '../pipeline/call.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { parseJsonObject, parseQuery, readBody } from './read-body.ts';
import { applyAdmission, send, sendError } from './respond.ts';

/**
 * The REST transport: a thin adapter over the rule pipeline (pipeline/pipeline.ts). It admits the
 * request, matches the route from trpc-to-openapi's table of the contracts, reads the path, query
 * or body into a call, hands the call to the pipeline, and writes the outcome in the API's terms
 * (success status from the contract, one error envelope, rate-limit headers, Link, no-store).
 */
export interface RestHandlerOptions {
  router: AnyTRPCRouter;
  /** The process's one rule pipeline, shared with the other transports. */
  pipeline: Pipeline;
  maxBodyBytes: number;
}

/** What the edge learns about a request, for the access log. */
export interface RequestState {
  requestId: string;
  clientAddress: string | null;
  principal?: Principal;
}

const METHODS = ['GET', 'POST', 'PATCH', 'DELETE'] as const;

export function createRestHandler(options: RestHandlerOptions) {
  const { router, pipeline, maxBodyBytes } = options;
  lockDeclaredCoercion(router);
  const findProcedure = createProcedureCache(router);
  const procedures = Object.values((router._def as unknown as { procedures: Record<string, ServedProcedure> }).procedures);
  const arrayParameters = new Map(procedures.map((procedure) => [procedure, arrayNames(procedure)]));
  const routes = routeTable(procedures.map((procedure) => (procedure._def.meta as { contract: EndpointContract }).contract));

  return async function handleRest(req: IncomingMessage, res: ServerResponse, state: RequestState, url: URL): Promise<void> {
    const { requestId } = state;
    const path = url.pathname.slice(API_BASE_PATH.length) || '/';
    const method = (req.method ?? 'GET') as (typeof METHODS)[number];

    // 1. Admission first, so that every request is counted, whatever the edge answers.
    const presented = presentedKey(req.headersDistinct);
    const { principal, decision } = await pipeline.admit(presented, state.clientAddress ?? 'unknown', requestId);
    if (principal) state.principal = principal;
    if (!applyAdmission(res, requestId, decision)) return;

    // 2. The route, from the contracts: the path's most specific template decides which methods it takes.
    // (A path no template matches as written, e.g. with a trailing slash, is left to trpc-to-openapi's matching.)
    const allowed = routes(path) ?? METHODS.filter((candidate) => findProcedure(candidate, path));
    const match = allowed.includes(method) ? findProcedure(method, path) : undefined;
    if (!match?.procedure) {
      if (allowed.length > 0) {
        sendError(res, requestId, new ApiError('method_not_allowed', `${method} is not allowed on ${url.pathname}.`), { Allow: allowed.join(', ') });
      } else {
        sendError(res, requestId, new ApiError('not_found', `No route matches ${method} ${url.pathname}.`));
      }
      return;
    }
    const procedure = match.procedure.procedure as unknown as ServedProcedure;
    const contract = (procedure._def.meta as { contract: EndpointContract }).contract;
    // Nothing of an unauthenticated request is read (the pipeline's scope step refuses it too).
    if (!principal) return void sendError(res, requestId, unauthorized());

    // 3. The wire format into a call: path parameters over the body (writes) or the query (GET).
    let rawInput: Record<string, unknown>;
    let body: Record<string, unknown> | undefined;
    try {
      // Writes take their input from the path and the body: a query parameter there would be ignored, so it is refused.
      if (method !== 'GET') refuseQuery(url.searchParams);
      if (method === 'POST' || method === 'PATCH') {
        body = parseJsonObject(await readBody(req, maxBodyBytes), req.headers['content-type']);
        rawInput = { ...body, ...match.pathInput };
      } else if (method === 'GET') {
        rawInput = { ...queryInput(parseQuery(url.searchParams), arrayParameters.get(procedure) ?? new Set()), ...match.pathInput };
      } else {
        // DELETE takes its input from the path alone.
        rawInput = { ...match.pathInput };
      }
    } catch (error) {
      return void sendError(res, requestId, error);
    }

    // 4. Every rule, the handler and its serialisation: the pipeline.
    const outcome = await pipeline.run({
      contract,
      procedure,
      principal,
      rawInput,
      requestId,
      idempotency: contract.idempotent
        ? {
            values: req.headersDistinct['idempotency-key'],
            fingerprint: () => fingerprint(method, url, body),
            sealWith: contract.returnsSecret ? presented : undefined,
          }
        : undefined,
    });
    const headers = outcome.nextCursor ? { ...outcome.headers, Link: `<${nextPageUrl(url, outcome.nextCursor)}>; rel="next"` } : outcome.headers;
    // A secret must not linger in a browser's or a proxy's cache.
    send(res, outcome.status, requestId, outcome.body, contract.returnsSecret ? { ...headers, 'Cache-Control': 'no-store' } : headers);
  };
}

/**
 * The query as trpc-to-openapi hands it to a procedure, which the contracts' query schemas were
 * written against: one value for a name sent once, every value for a name sent again; a name
 * whose schema is an array always gets an array.
 */
function queryInput(query: Record<string, unknown>, arrays: ReadonlySet<string>): Record<string, unknown> {
  for (const [name, value] of Object.entries(query)) {
    if (Array.isArray(value) && value.length === 1) query[name] = value[0];
    if (arrays.has(name) && !Array.isArray(query[name])) query[name] = [query[name]];
  }
  return query;
}

/** The input's parameters declared as an array (or an optional array). */
function arrayNames(procedure: ServedProcedure): ReadonlySet<string> {
  const shape = (procedure._def.inputs[0] as { shape?: Record<string, { _zod: { def: { type: string; innerType?: { _zod: { def: { type: string } } } } } }> } | undefined)?.shape ?? {};
  const names = new Set<string>();
  for (const [name, schema] of Object.entries(shape)) {
    const def = schema._zod.def;
    if (def.type === 'array' || (def.type === 'optional' && def.innerType?._zod.def.type === 'array')) names.add(name);
  }
  return names;
}

/**
 * The methods a path takes, from the contracts' path templates: those of the most specific template
 * that matches it (a literal segment beats a parameter, first difference first), so that
 * `/api-keys/current` takes GET alone rather than also the PATCH and DELETE of
 * `/api-keys/{key_id}`. Undefined when no template matches.
 */
function routeTable(contracts: readonly EndpointContract[]): (path: string) => string[] | undefined {
  const templates = new Map<string, { segments: string[]; methods: string[] }>();
  for (const contract of contracts) {
    const entry = templates.get(contract.path) ?? { segments: contract.path.split('/'), methods: [] };
    entry.methods.push(contract.method);
    templates.set(contract.path, entry);
  }
  const isParameter = (segment: string) => segment.startsWith('{');
  // At the first segment where one template has a literal and the other a parameter, the literal wins.
  const moreSpecific = (a: string[], b: string[]) => {
    const i = a.findIndex((segment, index) => isParameter(segment) !== isParameter(b[index] as string));
    return i !== -1 && !isParameter(a[i] as string);
  };
  return (path) => {
    const segments = path.split('/');
    let best: { segments: string[]; methods: string[] } | undefined;
    for (const template of templates.values()) {
      if (template.segments.length !== segments.length) continue;
      if (!template.segments.every((segment, i) => isParameter(segment) ? segments[i] !== '' : segment === segments[i])) continue;
      if (!best || moreSpecific(template.segments, best.segments)) best = template;
    }
    return best && METHODS.filter((method) => best.methods.includes(method));
  };
}

function refuseQuery(params: URLSearchParams): void {
  const names = [...new Set(params.keys())];
  if (names.length === 0) return;
  const errors: Record<string, string[]> = Object.create(null);
  for (const name of names) errors[name] = [`Unknown parameter "${name}": this method takes no query parameters.`];
  throw validationFailed(errors);
}

/** The same request with `cursor` set to the next page's and `page` dropped. */
function nextPageUrl(url: URL, cursor: string): string {
  const params = new URLSearchParams(url.searchParams);
  params.delete('page');
  params.set('cursor', cursor);
  return `${url.pathname}?${params.toString()}`;
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
