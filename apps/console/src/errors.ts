import { CharterError } from '@charter/client';

/** An API error in plain words, with what the person can do about it. */
export interface Problem {
  summary: string;
  detail: string;
  requestId: string | null;
  retryAt: Date | null;
  fields: Array<[string, string[]]>;
}

const PLAIN: Record<string, string> = {
  bad_request: 'The request was not understood.',
  unauthorized: 'This key is not accepted: it may be mistyped, expired or revoked.',
  access_denied: 'Your key is not allowed to do this.',
  not_found: 'It was not found: it may have been deleted.',
  conflict: 'This conflicts with the current state; reload and try again.',
  idempotency_key_in_use: 'The same request is still being handled; try again in a moment.',
  idempotency_key_reused: 'This request was already sent with different content.',
  cannot_retry: 'This delivery cannot be retried now.',
  method_not_allowed: 'This action is not available here.',
  payload_too_large: 'What you sent is too large.',
  unsupported_media_type: 'The request was sent in a form the API does not take.',
  validation_failed: 'Some values are not valid.',
  rate_limit_exceeded: 'Too many requests with this key.',
  service_unavailable: 'The service is busy or its database is unreachable.',
  server_error: 'Something went wrong on the server.',
  connection_error: 'The API could not be reached. Check your connection.',
  timeout: 'The API took too long to answer.',
  invalid_response: 'The API sent an answer the console could not read.',
};

export function describeProblem(error: unknown): Problem {
  if (error instanceof CharterError) {
    const body = (error.body ?? {}) as { errors?: Record<string, string[]>; required_scopes?: string[] };
    let detail = error.message;
    if (error.code === 'access_denied' && body.required_scopes?.length) detail = `It needs the scope ${body.required_scopes.join(', ')}.`;
    return {
      summary: PLAIN[error.code] ?? `The API answered ${error.status ?? 'with an error'}.`,
      detail,
      requestId: error.requestId ?? null,
      retryAt: error.retryAt ?? null,
      fields: Object.entries(body.errors ?? {}),
    };
  }
  return { summary: 'Something went wrong in the console.', detail: String((error as Error)?.message ?? error), requestId: null, retryAt: null, fields: [] };
}
