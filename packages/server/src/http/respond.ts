import type { ServerResponse } from 'node:http';
import { type ApiError, toApiError } from '../errors.ts';
import { type RateDecision, rateLimitExceeded, rateLimitHeaders } from '../limits/rate-limit.ts';

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Writes a whole response at once with a Content-Length (no chunked encoding) and the request id.
 * Every response of the API leaves through here or `sendError`.
 */
export function send(
  res: ServerResponse,
  status: number,
  requestId: string,
  body: string | Buffer | undefined,
  headers: Record<string, string> = {},
  contentType = JSON_TYPE,
): void {
  res.statusCode = status;
  res.setHeader('X-Request-ID', requestId);
  // No response of the API is to be sniffed into another type (an HTML error page, a script).
  res.setHeader('X-Content-Type-Options', 'nosniff');
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (body === undefined || status === 204 || status === 304) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** Writes the documented error envelope for anything thrown while serving a request. */
export function sendError(res: ServerResponse, requestId: string, error: unknown, headers: Record<string, string> = {}): ApiError {
  const answer = errorAnswer(error, requestId);
  send(res, answer.status, requestId, answer.body, { ...headers, ...answer.headers });
  return answer.error;
}

/** The envelope, status and headers for anything thrown, before it is written (or stored for replay). */
export function errorAnswer(error: unknown, requestId: string): { status: number; body: string; headers: Record<string, string>; error: ApiError } {
  const apiError = toApiError(error);
  return { status: apiError.status, body: JSON.stringify(apiError.toEnvelope(requestId)), headers: apiError.headers, error: apiError };
}

/**
 * Puts a counted request's rate-limit headers on its response, whatever the answer will be, and
 * answers 429 when the request was refused. Returns whether the request may go on.
 */
export function applyAdmission(res: ServerResponse, requestId: string, decision: RateDecision): boolean {
  for (const [name, value] of Object.entries(rateLimitHeaders(decision))) res.setHeader(name, value);
  if (decision.admitted) return true;
  sendError(res, requestId, rateLimitExceeded(decision));
  return false;
}
