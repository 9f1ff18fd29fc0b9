import { type CharterError, type CharterErrorCode, ConnectionError, RateLimitError, TimeoutError } from './errors.ts';
import { retryAfterMs } from './headers.ts';
import { IDEMPOTENT_METHODS, newIdempotencyKey } from './idempotency.ts';
import { RateLimitGate, type RateLimitTicket } from './rate-limit.ts';
import { raceAbort, settlesBefore, sleepUntil } from './timers.ts';

/** A WHATWG fetch, as given to openapi-fetch's `createClient({ fetch })`. */
export type FetchLike = (request: Request, init?: RequestInit) => Promise<Response>;

/** Told before each retry, e.g. to log it. */
export interface RetryEvent {
  /** The attempt that just failed, from 1. The next one is `attempt + 1`. */
  attempt: number;
  /** How long the client waits before the next attempt: `Retry-After` when the server sent one, else backoff. */
  delayMs: number;
  /** Why: `"HTTP 503"`, `"network error: fetch failed"`, `"attempt timed out after 30000 ms"`. */
  reason: string;
  /** The status of the failed attempt, when it got a response. */
  status?: number;
  /** What the failed attempt threw, when it got no response. */
  error?: unknown;
  /** The logical request (not one attempt's copy). Do not read its body. */
  request: Request;
  /** The failed attempt's response, body already read into memory. */
  response?: Response;
}

/** Told after each attempt, whatever its outcome, e.g. to log every request and response. */
export interface AttemptEvent {
  /** The attempt, from 1. */
  attempt: number;
  /** The logical request (not one attempt's copy): method, URL and headers as sent. Do not read its body. */
  request: Request;
  /** The attempt's response, when it got one: a copy whose body (already in memory) the hook may read. */
  response?: Response;
  /** What the attempt threw (network error, attempt timeout), when it got no response. */
  error?: unknown;
  /** From sending the attempt to its response body read, or to its failure. */
  durationMs: number;
}

/** How calls are retried. Set on the client; `maxRetries`, `timeoutMs` and `attemptTimeoutMs` can be overridden per call. */
export interface RetryOptions {
  /**
   * Retries after the first attempt.
   * @default 3 (so at most 4 attempts)
   */
  maxRetries?: number;
  /**
   * Deadline for a whole call: every attempt, every wait and the response body. Never overrun: when
   * a wait would end past it, the call ends at once, with the last response (its error carries
   * `retryAt`) or, if nothing was sent, a {@link RateLimitError} saying when to retry. `Infinity` for none.
   * @default 60000
   */
  timeoutMs?: number;
  /**
   * Limit for one attempt; an attempt that takes longer is aborted and retried.
   * @default 30000
   */
  attemptTimeoutMs?: number;
  /**
   * Backoff base: retry n waits a random time in [0, min(maxDelayMs, baseDelayMs × 2^(n-1))) ("full jitter").
   * @default 500
   */
  baseDelayMs?: number;
  /**
   * Backoff cap. Does not cap `Retry-After`, which is honoured exactly, bounded only by the deadline.
   * @default 8000
   */
  maxDelayMs?: number;
  /** Called before each retry, with the attempt number, the delay and the reason. A hook that throws ends the call. */
  onRetry?: (event: RetryEvent) => void | Promise<void>;
  /**
   * Called after every attempt with its request and its response or error, retried or not: a place
   * for debug logging or tracing. A hook that throws ends the call with that error.
   *
   * @example
   * onAttempt: ({ attempt, request, response, error, durationMs }) =>
   *   console.debug(`${request.method} ${request.url} #${attempt}: ${response?.status ?? error} in ${durationMs} ms`)
   */
  onAttempt?: (event: AttemptEvent) => void | Promise<void>;
}

/** The defaults of {@link RetryOptions}. */
export const RETRY_DEFAULTS = {
  maxRetries: 3,
  timeoutMs: 60_000,
  attemptTimeoutMs: 30_000,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
} as const;

/** Options of {@link createRetryFetch}. */
export interface RetryFetchOptions extends RetryOptions {
  /**
   * The fetch that sends each attempt.
   * @default globalThis.fetch
   */
  fetch?: FetchLike;
  /** Rate-limit state to wait on before each attempt and to update from each response. */
  rateLimit?: RateLimitGate;
}

// Statuses that say "try again"; any other 4xx is the caller's to fix and is never retried.
const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
const NULL_BODY_STATUSES = new Set([204, 205, 304]);
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Wraps fetch with retries, deadlines, rate-limit waits and idempotency keys; give it to openapi-fetch
 * as `createClient({ fetch: createRetryFetch() })`. One invocation is one logical call: it clones the
 * request for each attempt and keeps its `Idempotency-Key` (adding one to POST, PATCH and DELETE
 * when missing) across all of them. Retries network errors, attempt timeouts, 408, 429, 500, 502,
 * 503, 504 and 409 `idempotency_key_in_use`.
 *
 * Each returned response has its body read into memory, so the deadline covers the body too.
 * Rejects with {@link TimeoutError}, {@link ConnectionError}, {@link RateLimitError} (allowance spent
 * until past the deadline: not sent), or the caller's own abort reason.
 */
export function createRetryFetch(options: RetryFetchOptions = {}): FetchLike {
  const { maxRetries, timeoutMs, attemptTimeoutMs, baseDelayMs, maxDelayMs } = { ...RETRY_DEFAULTS, ...defined(options) };
  checkCount('maxRetries', maxRetries);
  checkDuration('timeoutMs', timeoutMs, true);
  checkDuration('attemptTimeoutMs', attemptTimeoutMs, true);
  checkDuration('baseDelayMs', baseDelayMs, false);
  checkDuration('maxDelayMs', maxDelayMs, false);
  const { onRetry, onAttempt, rateLimit } = options;
  // A plain function call: a browser's fetch throws "Illegal invocation" when called as a method of another object.
  const send: FetchLike = options.fetch ?? ((request, init) => globalThis.fetch(request, init));

  return async function retryingFetch(request, init) {
    const deadline = Date.now() + timeoutMs;
    if (IDEMPOTENT_METHODS.has(request.method) && !request.headers.has('idempotency-key')) {
      request.headers.set('Idempotency-Key', newIdempotencyKey());
    }
    const idempotencyKey = request.headers.get('idempotency-key') ?? undefined;
    const gated = rateLimit !== undefined && RateLimitGate.applies(request);
    const fail = (Class: typeof CharterError, message: string, extra: { code: CharterErrorCode; cause?: unknown }) =>
      new Class(message, { idempotencyKey, ...extra });

    for (let attempt = 1; ; attempt++) {
      const ticket = gated ? await admit(rateLimit, request.signal, deadline, idempotencyKey) : undefined;
      const attemptEnd = Math.min(Date.now() + attemptTimeoutMs, deadline);
      const startedAt = Date.now();
      let outcome: Outcome | undefined;
      try {
        outcome = await attemptOnce(send, request, init, attemptEnd);
      } finally {
        if (ticket) rateLimit?.settle(ticket, outcome?.response);
      }
      await onAttempt?.({
        attempt,
        request,
        // A copy: the caller reads the original.
        response: outcome.response?.clone(),
        error: outcome.error,
        durationMs: Date.now() - startedAt,
      });
      let reason: string;
      let wait: number | undefined;
      if (outcome.response) {
        const { response } = outcome;
        if (!(await isRetryable(response))) return response;
        reason = `HTTP ${response.status}`;
        wait = retryAfterMs(response.headers);
      } else if (outcome.timedOut && attemptEnd >= deadline) {
        throw fail(TimeoutError, `No response within the ${timeoutMs} ms deadline (attempt ${attempt}).`, {
          code: 'timeout',
          cause: outcome.error,
        });
      } else {
        reason = outcome.timedOut ? `attempt timed out after ${attemptTimeoutMs} ms` : `network error: ${describeNetworkError(outcome.error)}`;
      }

      const delayMs = wait ?? Math.floor(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
      const retryAt = Date.now() + delayMs;
      if (attempt > maxRetries || retryAt >= deadline) {
        // Out of retries or out of time: hand back the last response (its error carries Retry-After),
        // or the last failure.
        if (outcome.response) return outcome.response;
        const message = `${request.method} ${request.url}: gave up after ${attempt} attempt${attempt > 1 ? 's' : ''}: ${reason}.`;
        throw outcome.timedOut
          ? fail(TimeoutError, message, { code: 'timeout', cause: outcome.error })
          : fail(ConnectionError, message, { code: 'connection_error', cause: outcome.error });
      }
      await onRetry?.({
        attempt,
        delayMs,
        reason,
        status: outcome.response?.status,
        error: outcome.error,
        request,
        response: outcome.response,
      });
      await sleepUntil(retryAt, request.signal);
    }
  };
}

/**
 * Waits until the gate lets the request go and returns its ticket. Rejects at once with a
 * {@link RateLimitError} when the window resets only after the deadline, and with a
 * {@link TimeoutError} when the answer that tells the allowance has not come by the deadline.
 */
async function admit(gate: RateLimitGate, signal: AbortSignal, deadline: number, idempotencyKey?: string): Promise<RateLimitTicket> {
  for (;;) {
    const admission = gate.acquire();
    if (admission.ticket) return admission.ticket;
    if (admission.until !== undefined) {
      const at = admission.until;
      if (at >= deadline) {
        throw new RateLimitError(
          `Rate limit reached; the window resets at ${new Date(at).toISOString()}, after this call's deadline, so the request was not sent.`,
          { code: 'rate_limit_exceeded', idempotencyKey, retryAt: new Date(at), rateLimit: admission.state },
        );
      }
      await sleepUntil(at, signal);
    } else if (!(await settlesBefore(admission.changed, deadline, signal))) {
      throw new TimeoutError('The deadline passed while an earlier request to learn the rate-limit allowance was still out; this request was not sent.', {
        code: 'timeout',
        idempotencyKey,
      });
    }
  }
}

/**
 * A network error's message with what lies beneath it: undici's `fetch failed` hides the system
 * error (`connect ECONNREFUSED 127.0.0.1:8080`) in its `cause`, sometimes one per address tried.
 */
export function describeNetworkError(error: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== undefined && current !== null && !seen.has(current) && parts.length < 4) {
    seen.add(current);
    const { message, code, address, port, errors } = current as { message?: unknown; code?: unknown; address?: unknown; port?: unknown; errors?: unknown };
    const nested = Array.isArray(errors) ? errors.map((inner) => describeNetworkError(inner)).filter(Boolean) : [];
    let text = typeof message === 'string' && message !== '' ? message : nested.length || typeof code === 'string' ? '' : String(current);
    if (typeof code === 'string' && !text.includes(code)) text = `${code}${text ? ` ${text}` : ''}`;
    if (typeof address === 'string' && !text.includes(address)) text += ` (${address}${port === undefined ? '' : `:${port}`})`;
    if (text) parts.push(text);
    if (nested.length) {
      parts.push([...new Set(nested)].join('; '));
      break;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return parts.join(': ');
}

type Outcome = { response: Response; error?: undefined; timedOut?: undefined } | { response?: undefined; error: unknown; timedOut: boolean };

/** One attempt on a copy of the request, aborted at `attemptEnd`; the caller's own abort is rethrown as is. */
async function attemptOnce(send: FetchLike, request: Request, init: RequestInit | undefined, attemptEnd: number): Promise<Outcome> {
  const caller = request.signal;
  if (caller.aborted) throw caller.reason;
  const controller = new AbortController();
  const forward = () => controller.abort(caller.reason);
  caller.addEventListener('abort', forward, { once: true });
  let timedOut = false;
  const left = attemptEnd - Date.now();
  const timer =
    left <= MAX_TIMER_MS
      ? setTimeout(() => {
          timedOut = true;
          controller.abort(new DOMException('The attempt timed out.', 'TimeoutError'));
        }, Math.max(0, left))
      : undefined;
  try {
    const response = await raceAbort(send(new Request(request.clone(), { signal: controller.signal }), init), controller.signal);
    return { response: await readBody(response, controller.signal) };
  } catch (error) {
    if (caller.aborted) throw caller.reason;
    return { error, timedOut };
  } finally {
    clearTimeout(timer);
    caller.removeEventListener('abort', forward);
  }
}

/** The same response with its body in memory, read under the attempt's signal. */
async function readBody(response: Response, signal: AbortSignal): Promise<Response> {
  if (response.status < 200) return response; // opaque responses cannot be copied
  const body = NULL_BODY_STATUSES.has(response.status) ? null : await raceAbort(response.arrayBuffer(), signal);
  const copy = new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  Object.defineProperty(copy, 'url', { value: response.url });
  return copy;
}

async function isRetryable(response: Response): Promise<boolean> {
  if (RETRYABLE_STATUSES.has(response.status)) return true;
  if (response.status !== 409) return false;
  // 409 is retryable only while the first request with this key is still running.
  try {
    return JSON.parse(await response.clone().text())?.error === 'idempotency_key_in_use';
  } catch {
    return false;
  }
}

function defined<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;
}

function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number ≥ 0, got ${value}.`);
}

function checkDuration(name: string, value: number, positive: boolean): void {
  const ok = typeof value === 'number' && (positive ? value > 0 : value >= 0 && Number.isFinite(value));
  if (!ok) throw new RangeError(`${name} must be a number of milliseconds ${positive ? '> 0' : '≥ 0'}, got ${value}.`);
}
