/**
 * Test helpers. A fetch that plays back a script, one step per call, and records what it was sent. Nothing is mocked:
 * the client sends real `Request`s and reads real `Response`s.
 */
export type Step = Response | Error | ((request: Request) => Response | Promise<Response>);

export interface Sent {
  request: Request;
  body: string;
  at: number;
}

export function scriptedFetch(steps: Step[]) {
  const sent: Sent[] = [];
  let next = 0;
  const fetch = async (request: Request): Promise<Response> => {
    sent.push({ request, body: await request.clone().text(), at: Date.now() });
    const step = steps[next++];
    if (step === undefined) throw new Error(`scriptedFetch: unexpected call ${next} (${request.method} ${request.url})`);
    if (step instanceof Error) throw step;
    return typeof step === 'function' ? step(request) : step;
  };
  return { fetch, sent };
}

export const BASE_URL = 'http://127.0.0.1:3000/api/v1';
export const API_KEY = 'sk_test_abc123';

/** A JSON response. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'req_header', ...headers },
  });
}

/** The API's error envelope. */
export function problem(status: number, error: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Response {
  return json(status, { error, message: `${error} happened`, request_id: `req_${error}`, ...extra }, headers);
}

/** `TypeError('fetch failed')`, what undici throws on a reset connection. */
export function connectionReset(): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }) });
}

/** A response that arrives only after `ms`, or never if the request's signal aborts first (as a real fetch). */
export function slow(ms: number, response: () => Response): Step {
  return (request) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve(response()), ms);
      request.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(request.signal.reason);
      });
    });
}

export const MODULE = {
  id: 'mod_01',
  name: 'Contacts',
  description: null,
  fields: [{ name: 'email', type: 'string', required: true }],
  created_at: '2030-01-01T00:00:00.000Z',
  updated_at: '2030-01-01T00:00:00.000Z',
} as const;

/** What a promise rejects with; fails the test if it resolves. */
export function rejection<E = unknown>(promise: Promise<unknown>): Promise<E> {
  return promise.then(
    (value) => {
      throw new Error(`Expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error as E,
  );
}
