import { ERROR_CODES, type ErrorCode, type ErrorEnvelope } from '@charter/contracts';
import { TRPCError } from '@trpc/server';
import type { z } from 'zod';

type EnvelopeExtras = Omit<ErrorEnvelope, 'error' | 'message' | 'request_id'>;

/**
 * The one error type of the server: a code from the contracts' vocabulary, a message for
 * humans, the envelope's optional extras, and headers the response must carry.
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly extras: EnvelopeExtras;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, extras: EnvelopeExtras = {}, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_CODES[code];
    this.extras = extras;
    this.headers = headers;
  }

  toEnvelope(requestId: string): ErrorEnvelope {
    return { error: this.code, message: this.message, request_id: requestId, ...this.extras };
  }
}

export const notFound = (what: string) => new ApiError('not_found', `${what} not found.`);

/** Field-by-field validation failure, in the documented `errors` shape. */
export function validationFailed(errors: Record<string, string[]>): ApiError {
  const count = Object.keys(errors).length;
  return new ApiError(
    'validation_failed',
    count === 1 ? 'The given data was invalid: 1 field has an error.' : `The given data was invalid: ${count} fields have errors.`,
    { errors },
  );
}

/** Turns Zod issues into `{ "field.path": ["message"] }`, with a plain sentence for missing fields. */
export function zodIssuesToFieldErrors(issues: readonly z.core.$ZodIssue[]): Record<string, string[]> {
  // Field paths come from the caller (`?constructor=`, `{"toString":1}`): without a prototype,
  // no name can find or replace an inherited member.
  const errors: Record<string, string[]> = Object.create(null);
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const prefix = issue.path.length > 0 ? `${issue.path.map(String).join('.')}.` : '';
      for (const key of issue.keys) addFieldError(errors, prefix + key, `Unknown parameter "${prefix + key}".`);
      continue;
    }
    const field = issue.path.length > 0 ? issue.path.map(String).join('.') : '_';
    const message =
      issue.code === 'invalid_type' && issue.message.endsWith('received undefined')
        ? `The ${field} field is required.`
        : sentence(issue.message);
    addFieldError(errors, field, message);
  }
  return errors;
}

function addFieldError(errors: Record<string, string[]>, field: string, message: string): void {
  errors[field] = [...(errors[field] ?? []), message];
}

function sentence(message: string): string {
  const trimmed = message.trim();
  const capitalised = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

function isZodError(value: unknown): value is z.ZodError {
  return value instanceof Error && value.name === 'ZodError' && Array.isArray((value as z.ZodError).issues);
}

/**
 * Maps anything thrown while serving a request to an ApiError. Unknown errors become a bare
 * 500: their message, stack and any SQL stay in the server log, never in the response.
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  // tRPC wraps what a handler threw: the database's word may be on the error or on its cause.
  const database = databaseError(error) ?? (error instanceof TRPCError ? databaseError(error.cause) : undefined);
  if (database) return database;
  if (error instanceof TRPCError) {
    if (error.cause instanceof ApiError) return error.cause;
    // Input validation: trpc-to-openapi reports Zod failures as BAD_REQUEST with the ZodError as cause.
    if (error.code === 'BAD_REQUEST' && isZodError(error.cause)) {
      return validationFailed(zodIssuesToFieldErrors(error.cause.issues));
    }
    if (error.code === 'PARSE_ERROR') return new ApiError('bad_request', 'The request body is not valid JSON.');
    if (error.code === 'PAYLOAD_TOO_LARGE') return new ApiError('payload_too_large', 'The request body is too large.');
    if (error.code === 'UNSUPPORTED_MEDIA_TYPE') {
      return new ApiError('unsupported_media_type', 'The request body must be application/json.');
    }
    if (error.code === 'NOT_FOUND') return new ApiError('not_found', 'Not found.');
  }
  return new ApiError('server_error', 'An unexpected error occurred. Quote the request ID when reporting it.');
}

// postgres.js's own codes for a connection it could not make or lost, and the socket errors under them.
const CONNECTION_ERROR_CODES = new Set([
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * The 503 for an error that says the database is busy or cannot be reached (rather than that a
 * statement is wrong), or undefined. 57014 (query_canceled) is the statement timeout: busy, not
 * broken. SQLSTATE class 08 is a connection exception; 57P01–57P03 a server shutting down or
 * starting; 53300 too many connections.
 */
function databaseError(error: unknown): ApiError | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  if (code === '57014') {
    return new ApiError(
      'service_unavailable',
      'The request took longer than the database allows and was stopped. Narrow it (a longer search, a smaller limit) or retry later.',
      { retry_after: 1 },
      { 'Retry-After': '1' },
    );
  }
  if (CONNECTION_ERROR_CODES.has(code) || code.startsWith('08') || /^57P0[123]$/.test(code) || code === '53300') {
    return new ApiError('service_unavailable', 'The database is unreachable. Retry in a moment.', {}, { 'Retry-After': '5' });
  }
  return undefined;
}
