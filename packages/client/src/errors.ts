import type { components } from './generated/schema.ts';
import { type RateLimitReading, readRateLimit, retryAfterMs } from './headers.ts';

/** The error codes the API's document lists (`ErrorCode`): the `error` of every error envelope. */
export type ApiErrorCode = components['schemas']['ErrorCode'];

/**
 * Every {@link CharterError.code}: the API's documented codes, and the client's own for what has no
 * envelope: `connection_error` (no response), `timeout` (deadline), `invalid_response` (a 2xx whose
 * body is not JSON) and `http_error` (an error status the document does not name, without an envelope).
 */
export type CharterErrorCode = ApiErrorCode | 'connection_error' | 'timeout' | 'invalid_response' | 'http_error';

/** The error envelope of every 4xx and 5xx response (API.md, "Errors"). */
export interface ErrorBody {
  error: ApiErrorCode;
  message: string;
  request_id?: string;
  errors?: Record<string, string[]>;
  required_scopes?: string[];
  retry_after?: number;
  limit?: number;
  remaining?: number;
  reset_at?: string;
}

/** What every {@link CharterError} is built from. */
export interface CharterErrorInit {
  /** HTTP status; undefined when no response was received (network failure, deadline, local rate limit). */
  status?: number;
  /** The envelope's `error` code, or a client-side code such as `connection_error` or `timeout`. */
  code: CharterErrorCode;
  requestId?: string;
  idempotencyKey?: string;
  response?: Response;
  /** The parsed response body: the envelope, or text when it was not JSON. */
  body?: unknown;
  /** When a retry may succeed, from `Retry-After` or the rate-limit headers. */
  retryAt?: Date;
  cause?: unknown;
}

/**
 * The base of every error this client throws. `instanceof CharterError` catches them all; each
 * documented error code has its own subclass.
 */
export class CharterError extends Error {
  override name = 'CharterError';
  /** HTTP status; undefined when no response was received. */
  readonly status: number | undefined;
  /**
   * Machine-readable code: the envelope's `error` (e.g. `not_found`), or the client's own
   * (`connection_error`, `timeout`, `invalid_response`, `http_error`). A code the document does not
   * list (from a newer server) is read as the usual code of the status; `body` keeps it.
   */
  readonly code: CharterErrorCode;
  /** The request ID from the body's `request_id` or the `X-Request-ID` header: quote it to support. */
  readonly requestId: string | undefined;
  /** The call's `Idempotency-Key` (POST, PATCH, DELETE): reuse it to retry the same call safely later. */
  readonly idempotencyKey: string | undefined;
  /**
   * The raw response, when there was one. Its body has already been read: see {@link body}. Not
   * enumerable, so that an error printed by Node shows its fields, not sixty lines of Response.
   */
  declare readonly response: Response | undefined;
  /** The parsed response body. */
  readonly body: unknown;
  /** When to retry, if the server (or the local rate-limit state) said. */
  readonly retryAt: Date | undefined;
  /** Milliseconds from when the error was made until {@link retryAt}. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, init: CharterErrorInit) {
    super(message, { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.idempotencyKey = init.idempotencyKey;
    Object.defineProperty(this, 'response', { value: init.response, enumerable: false });
    this.body = init.body;
    this.retryAt = init.retryAt;
    this.retryAfterMs = init.retryAt && Math.max(0, init.retryAt.getTime() - Date.now());
  }
}

/** 400 `bad_request`: malformed JSON or a malformed header such as Idempotency-Key. */
export class BadRequestError extends CharterError {
  override name = 'BadRequestError';
}

/** 400 `cannot_retry`: a webhook delivery that succeeded or was abandoned cannot be retried. */
export class CannotRetryError extends CharterError {
  override name = 'CannotRetryError';
}

/** 401 `unauthorized`: the API key is missing, malformed, unknown, expired or revoked. */
export class UnauthorizedError extends CharterError {
  override name = 'UnauthorizedError';
}

/** 403 `access_denied`: the key lacks a scope; {@link requiredScopes} names it. */
export class AccessDeniedError extends CharterError {
  override name = 'AccessDeniedError';
  /** The scopes the key lacks, e.g. `["records:write"]`. */
  readonly requiredScopes: string[];
  constructor(message: string, init: CharterErrorInit) {
    super(message, init);
    this.requiredScopes = (init.body as ErrorBody | undefined)?.required_scopes ?? [];
  }
}

/** 404 `not_found`: unknown route, or a resource that does not exist in this workspace. */
export class NotFoundError extends CharterError {
  override name = 'NotFoundError';
}

/** 405 `method_not_allowed`: the path exists, not with this method (or the module's `api_methods` switch it off); `response.headers.get('Allow')` names the methods it takes. */
export class MethodNotAllowedError extends CharterError {
  override name = 'MethodNotAllowedError';
}

/** 409 `conflict`: the request conflicts with the current state (for example a duplicate name). */
export class ConflictError extends CharterError {
  override name = 'ConflictError';
}

/** 409 `idempotency_key_in_use`: a request with the same key is still running. Retried automatically. */
export class IdempotencyKeyInUseError extends CharterError {
  override name = 'IdempotencyKeyInUseError';
}

/** 413 `payload_too_large`. */
export class PayloadTooLargeError extends CharterError {
  override name = 'PayloadTooLargeError';
}

/** 415 `unsupported_media_type`: the body was not `application/json`. */
export class UnsupportedMediaTypeError extends CharterError {
  override name = 'UnsupportedMediaTypeError';
}

/** 422 `validation_failed`: {@link errors} lists the messages per field. */
export class ValidationError extends CharterError {
  override name = 'ValidationError';
  /** Messages per field, e.g. `{ name: ["The name field is required."] }`. */
  readonly errors: Record<string, string[]>;
  constructor(message: string, init: CharterErrorInit) {
    super(message, init);
    this.errors = (init.body as ErrorBody | undefined)?.errors ?? {};
  }
}

/** 422 `idempotency_key_reused`: the key was used before with a different method, path or body. */
export class IdempotencyKeyReusedError extends CharterError {
  override name = 'IdempotencyKeyReusedError';
}

/**
 * 429 `rate_limit_exceeded`. Also thrown before sending, without a status, when the client knows
 * the allowance is spent and the window resets only after the call's deadline.
 */
export class RateLimitError extends CharterError {
  override name = 'RateLimitError';
  /** Seconds to wait, from the body's `retry_after` or the `Retry-After` header. */
  readonly retryAfter: number | undefined;
  /** The limit that was exceeded. */
  readonly limit: number | undefined;
  /** Requests left in the window (0). */
  readonly remaining: number | undefined;
  /** When the window resets. */
  readonly resetAt: Date | undefined;
  constructor(message: string, init: CharterErrorInit & { rateLimit?: RateLimitReading }) {
    super(message, init);
    const body = init.body as ErrorBody | undefined;
    // The body is the server's word; the headers (or the client's own reading) fill the gaps.
    const reading = init.rateLimit ?? (init.response && readRateLimit(init.response.headers));
    this.retryAfter = body?.retry_after ?? (this.retryAfterMs === undefined ? undefined : Math.ceil(this.retryAfterMs / 1000));
    this.limit = body?.limit ?? reading?.limit;
    this.remaining = body?.remaining ?? reading?.remaining;
    const resetAt = body?.reset_at ?? reading?.resetAt;
    this.resetAt = resetAt === undefined ? undefined : new Date(resetAt);
  }
}

/** 5xx (`server_error`, `service_unavailable`): retried automatically before it is thrown. */
export class ServerError extends CharterError {
  override name = 'ServerError';
}

/** No response: DNS, refused or reset connection, TLS. Retried automatically before it is thrown. */
export class ConnectionError extends CharterError {
  override name = 'ConnectionError';
}

/** The call's deadline (`timeoutMs`) passed, or a wait the server asked for would have passed it. */
export class TimeoutError extends CharterError {
  override name = 'TimeoutError';
}

type ErrorClass = new (message: string, init: CharterErrorInit) => CharterError;

// Typed over the document's codes, so a code added to the API is a compile error here until it has its class.
const BY_CODE: Record<ApiErrorCode, ErrorClass> = {
  bad_request: BadRequestError,
  cannot_retry: CannotRetryError,
  unauthorized: UnauthorizedError,
  access_denied: AccessDeniedError,
  not_found: NotFoundError,
  method_not_allowed: MethodNotAllowedError,
  conflict: ConflictError,
  idempotency_key_in_use: IdempotencyKeyInUseError,
  payload_too_large: PayloadTooLargeError,
  unsupported_media_type: UnsupportedMediaTypeError,
  validation_failed: ValidationError,
  idempotency_key_reused: IdempotencyKeyReusedError,
  rate_limit_exceeded: RateLimitError,
  request_headers_too_large: CharterError,
  server_error: ServerError,
  service_unavailable: ServerError,
};

// For bodies without a known code (a proxy's HTML 502, an empty 404): the usual code of each status.
const CODE_BY_STATUS: Record<number, ApiErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'access_denied',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  431: 'request_headers_too_large',
  422: 'validation_failed',
  429: 'rate_limit_exceeded',
};

/**
 * The error for a non-2xx response: the subclass of the envelope's code (or, failing that, of the
 * status), carrying the request ID, the idempotency key and the retry time.
 */
export function errorFromResponse(response: Response, body: unknown, idempotencyKey?: string): CharterError {
  const envelope = isErrorEnvelope(body) ? body : undefined;
  const status = response.status;
  const documented = envelope && Object.hasOwn(BY_CODE, envelope.error) ? envelope.error : undefined;
  const code: CharterErrorCode =
    documented ?? CODE_BY_STATUS[status] ?? (status >= 500 ? 'server_error' : response.ok ? 'invalid_response' : 'http_error');
  const Class = (Object.hasOwn(BY_CODE, code) && BY_CODE[code as ApiErrorCode]) || (status >= 500 ? ServerError : CharterError);
  const wait = retryAfterMs(response.headers);
  return new Class(envelope?.message ?? describeResponse(response, body), {
    status,
    code,
    requestId: envelope?.request_id ?? response.headers.get('x-request-id') ?? undefined,
    idempotencyKey,
    response,
    body,
    retryAt: wait === undefined ? undefined : new Date(Date.now() + wait),
  });
}

/** Whether a parsed body is the API's error envelope, `{ error, message, … }`. */
export function isErrorEnvelope(body: unknown): body is ErrorBody {
  return typeof body === 'object' && body !== null && typeof (body as ErrorBody).error === 'string' && typeof (body as ErrorBody).message === 'string';
}

// Enough of a proxy's page to recognise it, not the whole of it.
const SHOWN_BODY_CHARS = 200;

/** `HTTP 502 Bad Gateway: <html>…`: the status and the start of a body that is not the API's JSON. */
function describeResponse(response: Response, body: unknown): string {
  const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  const text = (typeof body === 'string' ? body : body === undefined ? '' : JSON.stringify(body)).replace(/\s+/g, ' ').trim();
  if (!text) return `${status}, with an empty body${response.ok ? ' where JSON was expected' : ''}.`;
  const shown = text.length > SHOWN_BODY_CHARS ? `${text.slice(0, SHOWN_BODY_CHARS)}…` : text;
  return `${status}, with a body that is not the API's JSON: ${shown}`;
}

/**
 * The data of a successful result, or the matching {@link CharterError} thrown: the one-call form of
 * the client's `throwOnError` option.
 *
 * @example
 * const module = unwrap(await charter.GET('/modules/{module_id}', { params: { path: { module_id } } }));
 */
export function unwrap<Data>(result: { data?: Data; error?: unknown; response: Response; idempotencyKey?: string }): Data {
  if (!result.response.ok) throw errorFromResponse(result.response, result.error, result.idempotencyKey);
  return result.data as Data;
}
