import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RateDecision } from '../limits/rate-limit.ts';
import { applyAdmission, send } from './respond.ts';

/** The methods the API takes, for a preflight's `Access-Control-Allow-Methods`. */
export const CORS_ALLOWED_METHODS = ['GET', 'POST', 'PATCH', 'DELETE'] as const;

/** The request headers a browser may send: the three key forms, JSON, and the API's own. */
// Beyond the API's own: what the tRPC client (`trpc-accept`) and MCP clients (`Mcp-Protocol-Version`)
// send, so that a page can use those transports too.
export const CORS_ALLOWED_HEADERS = [
  'Authorization',
  'X-API-Key',
  'Content-Type',
  'Idempotency-Key',
  'X-Request-ID',
  'trpc-accept',
  'Mcp-Protocol-Version',
] as const;

/**
 * The response headers a page may read besides the CORS-safelisted ones: without them, the
 * client's throttling and retries (rate-limit fields, Retry-After), its error reports (request ID),
 * replay detection, pagination (Link) and a 405's methods (Allow) would see nothing in a browser.
 */
export const CORS_EXPOSED_HEADERS = [
  'X-RateLimit-Limit',
  'X-RateLimit-Remaining',
  'X-RateLimit-Reset',
  'RateLimit',
  'RateLimit-Policy',
  'Retry-After',
  'X-Request-ID',
  'Idempotent-Replayed',
  'Link',
  'Allow',
] as const;

/** How long a browser may reuse a preflight: Chromium caps it at two hours, Firefox at one day. */
export const CORS_MAX_AGE_SECONDS = 7200;

/**
 * Reads a list of allowed origins (comma-separated, or already split). Each must be an exact
 * origin, `scheme://host[:port]` with http or https and nothing after it, as browsers send it in
 * `Origin`: a wildcard, a path, a trailing slash or `null` would match nothing or too much, so they
 * are refused here rather than at the first request. Throws an Error naming the first bad entry.
 */
export function parseCorsOrigins(value: string | readonly string[]): string[] {
  const entries = (typeof value === 'string' ? value.split(',') : [...value]).map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const entry of entries) {
    let origin: string | undefined;
    try {
      const url = new URL(entry);
      // The URL parser lets `*` through in a host name; no browser sends one, and it would read as a wildcard.
      if ((url.protocol === 'http:' || url.protocol === 'https:') && /^([a-z0-9-]+\.)*[a-z0-9-]+$|^\[[0-9a-f:.]+\]$/.test(url.hostname)) {
        origin = url.origin;
      }
    } catch {
      origin = undefined;
    }
    if (origin !== entry) {
      throw new Error(
        `"${entry}" is not an exact origin: write scheme://host[:port] as the browser sends it (lowercase, no path, no trailing slash, no wildcard), e.g. https://app.example.com${
          origin ? ` (here: ${origin})` : ''
        }`,
      );
    }
  }
  return [...new Set(entries)];
}

export interface CorsOptions {
  /** Exact origins allowed to call the API from a page (see {@link parseCorsOrigins}). */
  origins: readonly string[];
  /** Counts a preflight against its client address, as any request without a valid key is. */
  admitAddress: (address: string) => Promise<RateDecision>;
}

/**
 * CORS for the origins listed, exactly. Returns the step the listener runs before anything else:
 * for an allowed origin it puts `Access-Control-Allow-Origin` and `Access-Control-Expose-Headers`
 * on the response whatever it turns out to be (401, 429 and every other error included), and
 * answers a preflight itself, returning true. A request from any other origin gets no CORS header,
 * so the browser keeps its answer from the page; its preflight falls through to the API, which
 * answers OPTIONS with 405 as it does without CORS.
 *
 * No `Access-Control-Allow-Credentials`: API keys travel in headers, never in cookies, so a page
 * has no use for credentialed requests, and refusing them means no ambient cookie or HTTP
 * authentication can ride along. The allowed origin is echoed, never `*`, and every response
 * carries `Vary: Origin`, since it differs by origin, so that a shared cache never hands one origin
 * another's answer.
 */
export function createCors(options: CorsOptions) {
  const allowed = new Set(parseCorsOrigins(options.origins));
  if (allowed.size === 0) throw new Error('createCors needs at least one origin.');
  const preflightHeaders = {
    'Access-Control-Allow-Methods': CORS_ALLOWED_METHODS.join(', '),
    'Access-Control-Allow-Headers': CORS_ALLOWED_HEADERS.join(', '),
    'Access-Control-Max-Age': String(CORS_MAX_AGE_SECONDS),
  };
  const exposed = CORS_EXPOSED_HEADERS.join(', ');

  return async function cors(req: IncomingMessage, res: ServerResponse, state: { requestId: string; clientAddress: string | null }): Promise<boolean> {
    res.setHeader('Vary', 'Origin');
    const origin = req.headers.origin;
    if (origin === undefined || !allowed.has(origin)) return false;
    res.setHeader('Access-Control-Allow-Origin', origin);
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (!preflight) {
      res.setHeader('Access-Control-Expose-Headers', exposed);
      return false;
    }
    // Browsers send no credentials on a preflight: it is limited like any request without a key.
    if (!applyAdmission(res, state.requestId, await options.admitAddress(state.clientAddress ?? 'unknown'))) return true;
    send(res, 204, state.requestId, undefined, preflightHeaders);
    return true;
  };
}

export type Cors = ReturnType<typeof createCors>;
