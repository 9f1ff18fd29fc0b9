import type { ServerResponse } from 'node:http';
import { type ApiError, toApiError } from '../errors.ts';

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
  const apiError = toApiError(error);
  send(res, apiError.status, requestId, JSON.stringify(apiError.toEnvelope(requestId)), { ...headers, ...apiError.headers });
  return apiError;
}
