import type { IncomingMessage, ServerResponse } from 'node:http';
import { type EndpointContract, MAX_JSON_DEPTH } from '@charter/contracts';
import type { AnyTRPCRouter } from '@trpc/server';
import { type TRPC_ERROR_CODE_KEY, TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import { presentedKey } from '../auth/api-key.ts';
import { unauthorized } from '../auth/enforce-contract.ts';
import { ApiError } from '../errors.ts';
import { exceedsDepth, parseJsonObject, readBody } from '../http/read-body.ts';
import { errorAnswer, send } from '../http/respond.ts';
import type { RequestState } from '../http/rest.ts';
import { fingerprint } from '../idempotency/idempotency.ts';
import { type RateDecision, rateLimitExceeded, rateLimitHeaders } from '../limits/rate-limit.ts';
import type { RequestLog } from '../logs/access-log.ts';
import type { Outcome, ServedProcedure } from '../pipeline/call.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';

/**
 * Most calls one request may carry: each is an admission and a database round trip or more, so a
 * URL or body full of names must not buy thousands of them. Beyond it the batch is one 400.
 */
export const MAX_BATCH_CALLS = 50;

/** Where the tRPC protocol is served. */
export const TRPC_BASE_PATH = '/api/trpc';

export interface TrpcHandlerOptions {
  router: AnyTRPCRouter;
  pipeline: Pipeline;
  requestLog: RequestLog;
  maxBodyBytes: number;
}

// tRPC's own error keys for the API's statuses, so that @trpc/client's `error.data.code` reads naturally.
const TRPC_KEY_BY_STATUS: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_CONTENT',
  429: 'TOO_MANY_REQUESTS',
  503: 'SERVICE_UNAVAILABLE',
};

/**
 * The tRPC transport (HTTP protocol of @trpc/server 11, batching included, no transformer): a thin
 * adapter over the rule pipeline. It reads the calls of a request (`/api/trpc/a,b?batch=1`, inputs
 * in `input=` for queries or the body for mutations) and gives each call its own admission (its
 * own rate-limit count), its own pass through the pipeline and its own access-log entry, as if it
 * had come alone over REST. The request's rate-limit headers are those of its last admission.
 *
 * An `Idempotency-Key` header applies to a request of one call: with several calls it is a 400 in
 * each of them, since one key cannot name several writes.
 *
 * Errors keep the API's vocabulary: `error.data` carries the envelope (`error`, `message`,
 * `request_id`, and `errors`, `required_scopes`, `retry_after` when set), the HTTP status as
 * `httpStatus` and tRPC's own key as `code`. In a batch, call `i` has the request ID
 * `<request id>-<i>`, so that each access-log entry and error names its own call.
 */
export function createTrpcHandler(options: TrpcHandlerOptions) {
  const { pipeline, requestLog, maxBodyBytes } = options;
  const procedures = new Map(Object.entries((options.router._def as unknown as { procedures: Record<string, ServedProcedure> }).procedures));

  return async function handleTrpc(req: IncomingMessage, res: ServerResponse, state: RequestState, url: URL): Promise<void> {
    const started = performance.now();
    try {
      await serveCalls(req, res, state, url, started);
    } catch (error) {
      // What no call could answer (the database unreachable while admitting): the listener answers it;
      // this adapter logs it, since the listener leaves tRPC's entries to the adapter.
      if (!res.headersSent) logCall(req, state, TRPC_BASE_PATH, errorAnswer(error, state.requestId).status, started, state.requestId);
      throw error;
    }
  };

  function logCall(req: IncomingMessage, state: RequestState, path: string, status: number, started: number, requestId: string): void {
    requestLog.record({
      workspaceId: state.principal?.workspaceId ?? null,
      keyId: state.principal?.keyId ?? null,
      method: req.method ?? 'GET',
      path,
      status,
      latencyMs: performance.now() - started,
      requestId,
      clientAddress: state.clientAddress,
      at: new Date(),
    });
  }

  async function serveCalls(req: IncomingMessage, res: ServerResponse, state: RequestState, url: URL, started: number): Promise<void> {
    const method = req.method ?? 'GET';
    const batch = url.searchParams.get('batch') === '1';
    const names = decodeNames(url.pathname.slice(TRPC_BASE_PATH.length + 1), batch);
    if (names.length > MAX_BATCH_CALLS) return refuseBatch(req, res, state, started, names.length);

    // The calls' inputs, read once, and only for a caller with a valid key (nothing of an
    // unauthenticated request is read): a request that cannot be read fails each of its calls alike.
    let inputs: unknown[] | undefined;
    let unreadable: unknown;
    const readOnce = async () => {
      if (inputs !== undefined || unreadable !== undefined) return;
      try {
        inputs = await readInputs(req, url, method, batch, names.length, maxBodyBytes);
      } catch (error) {
        unreadable = error;
      }
    };
    const keyValues = req.headersDistinct['idempotency-key'];
    const presented = presentedKey(req.headersDistinct);

    const slots: string[] = [];
    const statuses: number[] = [];
    const headers: Record<string, string> = {};
    let decision: RateDecision | undefined;
    // In order, one after the other: a batch's calls are admitted (and limited) in the order sent.
    for (const [index, name] of names.entries()) {
      const callStarted = index === 0 ? started : performance.now();
      const requestId = names.length === 1 ? state.requestId : `${state.requestId}-${index}`;
      const admission = await pipeline.admit(presented, state.clientAddress ?? 'unknown', requestId);
      decision = admission.decision;
      const { principal } = admission;
      if (principal) state.principal = principal;
      const procedure = procedures.get(name);
      const contract = (procedure?._def.meta as { contract: EndpointContract } | undefined)?.contract;
      if (principal && admission.decision.admitted) await readOnce();
      const input = inputs?.[index];
      let outcome: Outcome;
      if (!admission.decision.admitted) outcome = errorAnswer(rateLimitExceeded(admission.decision), requestId);
      else if (!principal) outcome = errorAnswer(unauthorized(), requestId);
      else if (unreadable !== undefined) outcome = errorAnswer(unreadable, requestId);
      else if (!procedure || !contract) outcome = errorAnswer(new ApiError('not_found', `No procedure is named "${name.slice(0, 100)}".`), requestId);
      else if (!isInputObject(input)) outcome = errorAnswer(new ApiError('bad_request', `The input of ${name} must be a JSON object.`), requestId);
      else if ((contract.method === 'GET') !== (method === 'GET')) {
        const takes = contract.method === 'GET' ? 'GET (a query)' : 'POST (a mutation)';
        outcome = errorAnswer(new ApiError('method_not_allowed', `${name} is called with ${takes}, not ${method}.`), requestId);
      } else if (keyValues !== undefined && names.length > 1 && contract.idempotent) {
        outcome = errorAnswer(new ApiError('bad_request', 'An Idempotency-Key applies to one call: send this call in a request of its own.'), requestId);
      } else {
        const rawInput = (input ?? {}) as Record<string, unknown>;
        outcome = await pipeline.run({
          contract,
          procedure,
          principal,
          rawInput,
          requestId,
          idempotency: contract.idempotent
            ? {
                values: keyValues,
                fingerprint: () => fingerprint('POST', new URL(`${TRPC_BASE_PATH}/${name}`, 'http://trpc'), rawInput),
                sealWith: contract.returnsSecret ? presented : undefined,
              }
            : undefined,
        });
        // A secret must not linger in a browser's or a proxy's cache.
        if (contract.returnsSecret) headers['Cache-Control'] = 'no-store';
      }
      Object.assign(headers, outcome.headers);
      slots.push(outcome.status >= 400 ? errorSlot(outcome, name) : successSlot(outcome));
      statuses.push(outcome.status);
      logCall(req, state, `${TRPC_BASE_PATH}/${name}`, outcome.status, callStarted, requestId);
    }
    if (decision) Object.assign(headers, rateLimitHeaders(decision));
    // tRPC's rule: one status when every call agrees, else 207 Multi-Status.
    const status = statuses.every((s) => s === statuses[0]) ? (statuses[0] ?? 200) : 207;
    send(res, status === 204 ? 200 : status, state.requestId, batch ? `[${slots.join(',')}]` : (slots[0] ?? '{}'), headers);
  }

  /** A batch beyond MAX_BATCH_CALLS is refused whole, counted and logged as one call, before any of it runs. */
  async function refuseBatch(req: IncomingMessage, res: ServerResponse, state: RequestState, started: number, count: number): Promise<void> {
    const { principal, decision } = await pipeline.admit(presentedKey(req.headersDistinct), state.clientAddress ?? 'unknown', state.requestId);
    if (principal) state.principal = principal;
    const refusal = decision.admitted
      ? new ApiError('bad_request', `A batch takes at most ${MAX_BATCH_CALLS} calls, not ${count}.`)
      : rateLimitExceeded(decision);
    const outcome = errorAnswer(refusal, state.requestId);
    logCall(req, state, TRPC_BASE_PATH, outcome.status, started, state.requestId);
    // One error for the whole batch: @trpc/client gives it to each call.
    send(res, outcome.status, state.requestId, errorSlot(outcome, ''), { ...outcome.headers, ...rateLimitHeaders(decision) });
  }
}

/** The procedure names of `/api/trpc/<names>`: a comma-separated list in a batch. */
function decodeNames(encoded: string, batch: boolean): string[] {
  let decoded: string;
  try {
    decoded = decodeURIComponent(encoded);
  } catch {
    decoded = encoded;
  }
  return batch ? decoded.split(',') : [decoded];
}

/** Each call's input, as sent: JSON in `input=` (queries) or in the body (mutations), keyed by index in a batch. */
async function readInputs(req: IncomingMessage, url: URL, method: string, batch: boolean, count: number, maxBodyBytes: number): Promise<unknown[]> {
  let sent: unknown;
  if (method === 'GET') {
    const text = url.searchParams.get('input');
    sent = text === null ? undefined : parseJson(text);
  } else if (method === 'POST') {
    const body = await readBody(req, maxBodyBytes);
    // A mutation without input has an empty body; a batch's body is an object of indexes.
    sent = body.length === 0 ? undefined : parseJsonValue(body, req.headers['content-type']);
  } else {
    throw new ApiError('method_not_allowed', `tRPC takes GET (queries) and POST (mutations), not ${method}.`, {}, { Allow: 'GET, POST' });
  }
  if (!batch) return [sent];
  if (sent !== undefined && (typeof sent !== 'object' || sent === null || Array.isArray(sent))) {
    throw new ApiError('bad_request', 'A batch takes its inputs as a JSON object keyed by call index.');
  }
  const byIndex = (sent ?? {}) as Record<string, unknown>;
  return Array.from({ length: count }, (_, index) => (Object.hasOwn(byIndex, String(index)) ? byIndex[String(index)] : undefined));
}

function parseJsonValue(body: Buffer, contentType: string | undefined): unknown {
  // The REST reader checks the media type and the depth; it wants an object, which a batch body is.
  const text = body.toString('utf8');
  if (text.trimStart().startsWith('{')) return parseJsonObject(body, contentType);
  parseJsonObject(Buffer.alloc(0), contentType);
  return parseJson(text);
}

function parseJson(text: string): unknown {
  if (exceedsDepth(text, MAX_JSON_DEPTH)) {
    throw new ApiError('bad_request', `The input is nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays.`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError('bad_request', 'The input is not valid JSON.');
  }
}

/** The pipeline takes an object of named inputs, as REST's body is; no input is an empty one. */
function isInputObject(input: unknown): boolean {
  return input === undefined || input === null || (typeof input === 'object' && !Array.isArray(input));
}

/** `{"result":{"data":…}}` around the body the pipeline serialised, without parsing it again. */
function successSlot(outcome: Outcome): string {
  return outcome.body === undefined ? '{"result":{}}' : `{"result":{"data":${outcome.body}}}`;
}

/** tRPC's error shape, its `data` carrying the API's envelope (a replayed error's body is the stored envelope). */
function errorSlot(outcome: Outcome, path: string): string {
  const envelope = JSON.parse(outcome.body ?? '{}') as { message?: string };
  const key = TRPC_KEY_BY_STATUS[outcome.status] ?? 'INTERNAL_SERVER_ERROR';
  return JSON.stringify({
    error: { message: envelope.message, code: TRPC_ERROR_CODES_BY_KEY[key], data: { code: key, httpStatus: outcome.status, path, ...envelope } },
  });
}
