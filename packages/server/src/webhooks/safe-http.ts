import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Outbound webhook calls that an endpoint's owner cannot turn against the network the server sits
 * in (server-side request forgery):
 * - HTTPS only, except for hosts listed in `allowedHosts`;
 * - only public unicast addresses: private (RFC 1918, CGNAT 100.64/10, fc00::/7), loopback,
 *   link-local (169.254/16 with the cloud metadata address, fe80::/10), unspecified, multicast,
 *   reserved and the IPv6 forms that embed an IPv4 address are refused, unless the host is listed;
 * - the name is resolved once, every address it resolves to is checked, and the connection goes to
 *   a checked address (through the request's own `lookup`), so a second answer from a rebinding DNS
 *   server is never asked for. The URL's host stays the Host header and the TLS server name;
 * - no redirects: a 3xx is a failure carrying its status;
 * - the response body is read up to `maxResponseBytes`, then the connection is dropped;
 * - one deadline covers resolution, connection, the request and the response.
 */

/** Where a name points. Injectable so tests can make a name resolve to any address. */
export type Resolver = (hostname: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

export interface PostWebhookOptions {
  /** Hosts (names or literal addresses, matched exactly, case-insensitively) that may use plain HTTP and non-public addresses. Default none. */
  allowedHosts?: readonly string[];
  /** The whole call's deadline, resolution to last byte read. Default 15,000 ms (the specification suggests 15–30 s). */
  timeoutMs?: number;
  /** Response bytes read at most; past it the connection is dropped. Default 4,096. */
  maxResponseBytes?: number;
  /** Default: the system resolver (`dns.lookup`, every address). */
  resolve?: Resolver;
}

/** The receiver answered: a 2xx is a success, anything else (3xx included) a failure with its status. */
export interface AnsweredOutcome {
  success: boolean;
  status_code: number;
  response_time_ms: number;
  /** At most `maxResponseBytes` of the body, as UTF-8 text. */
  response_body: string;
  /** The receiver's `Retry-After`, as sent, when it sent one (schedule.ts decides what it is worth). */
  retry_after?: string | undefined;
}

/** No answer: refused before sending, or the connection failed or timed out. */
export interface FailedOutcome {
  success: false;
  error: string;
  response_time_ms: number;
}

export type WebhookOutcome = AnsweredOutcome | FailedOutcome;

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 15_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 4096;

const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

class Refusal extends Error {}

/** The URL's host as compared with the allowed list: lowercase, without an IPv6 literal's brackets or a trailing dot. */
function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

function isAllowed(host: string, allowedHosts: readonly string[]): boolean {
  return allowedHosts.some((allowed) => allowed.toLowerCase().replace(/^\[(.*)\]$/, '$1') === host);
}

/** Why an address may not be called, or undefined for a public unicast address. */
export function addressProblem(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  let parsed = ipaddr.parse(address);
  // ::ffff:10.0.0.1 reaches 10.0.0.1: judge the IPv4 address it carries.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  if (range === 'unicast') return undefined;
  const shown = parsed.toString();
  if (range === 'linkLocal' && shown === '169.254.169.254') return `${shown} is the cloud metadata address`;
  return `${shown} is a ${RANGE_NAMES[range] ?? `special-purpose (${range})`} address`;
}

const RANGE_NAMES: Record<string, string> = {
  private: 'private',
  uniqueLocal: 'private (unique local)',
  carrierGradeNat: 'private (carrier-grade NAT)',
  loopback: 'loopback',
  linkLocal: 'link-local',
  unspecified: 'unspecified',
  multicast: 'multicast',
  broadcast: 'broadcast',
  reserved: 'reserved',
};

/**
 * Checks a webhook URL when an endpoint is created or changed: absolute, `https:` (or `http:` for an
 * allowed host), no user name or password, and not a literal address that may not be called.
 * Names are checked again, resolved, at each delivery.
 * @returns a message saying what is wrong, or undefined when the URL may be used.
 */
export function checkWebhookUrl(url: string, allowedHosts: readonly string[] = []): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'The url must be an absolute URL, such as https://example.com/webhooks.';
  }
  return urlProblem(parsed, allowedHosts);
}

function urlProblem(url: URL, allowedHosts: readonly string[]): string | undefined {
  const host = hostOf(url);
  const allowed = isAllowed(host, allowedHosts);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowed)) return 'The url must use https.';
  if (url.username !== '' || url.password !== '') return 'The url must not contain a user name or password.';
  if (host === '') return 'The url must name a host.';
  if (!allowed && isIP(host) !== 0) {
    const problem = addressProblem(host);
    if (problem) return `The url's host may not be called: ${problem}.`;
  }
  return undefined;
}

/**
 * POSTs one webhook. Never throws: every outcome, refusals included, comes back as a value.
 * @param headers sent as given, after `content-type: application/json` and a `user-agent`.
 */
export async function postWebhook(
  url: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  options: PostWebhookOptions = {},
): Promise<WebhookOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  try {
    const target = new URL(url);
    const allowedHosts = options.allowedHosts ?? [];
    const problem = urlProblem(target, allowedHosts);
    if (problem) throw new Refusal(problem);
    const addresses = await withDeadline(resolveChecked(target, allowedHosts, options.resolve ?? systemResolver), deadline.signal, timeoutMs);
    const answer = await send(target, addresses, body, headers, options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES, deadline.signal, timeoutMs);
    return {
      success: answer.status >= 200 && answer.status < 300,
      status_code: answer.status,
      response_time_ms: elapsed(),
      response_body: answer.body,
      retry_after: answer.retryAfter,
    };
  } catch (error) {
    return { success: false, error: describe(error), response_time_ms: elapsed() };
  } finally {
    clearTimeout(timer);
  }
}

/** Every address the host resolves to, each one checked; a literal address is its own answer. */
async function resolveChecked(url: URL, allowedHosts: readonly string[], resolve: Resolver): Promise<Array<{ address: string; family: number }>> {
  const host = hostOf(url);
  const allowed = isAllowed(host, allowedHosts);
  const literal = isIP(host);
  const addresses = literal !== 0 ? [{ address: host, family: literal }] : [...(await resolve(host))];
  if (addresses.length === 0) throw new Refusal(`${host} resolves to no address`);
  if (!allowed) {
    // One bad address refuses the whole name: which one a later connection would use is not ours to pick.
    for (const { address } of addresses) {
      const problem = addressProblem(address);
      if (problem) throw new Refusal(`${host} may not be called: ${problem}`);
    }
  }
  return addresses.map(({ address, family }) => ({ address, family: family === 6 || isIP(address) === 6 ? 6 : 4 }));
}

function send(
  url: URL,
  addresses: ReadonlyArray<{ address: string; family: number }>,
  body: string,
  headers: Readonly<Record<string, string>>,
  maxResponseBytes: number,
  signal: AbortSignal,
  timeoutMs: number,
): Promise<{ status: number; body: string; retryAfter: string | undefined }> {
  // The connection may only go to the addresses just checked: the request asks this, never DNS.
  const lookup = ((_hostname, lookupOptions, callback) => {
    const family = typeof lookupOptions === 'object' ? lookupOptions.family : lookupOptions;
    const usable = addresses.filter((entry) => !family || entry.family === family);
    const chosen = usable.length > 0 ? usable : addresses;
    if (typeof lookupOptions === 'object' && lookupOptions.all) (callback as (error: null, all: typeof chosen) => void)(null, chosen);
    else callback(null, chosen[0]?.address ?? '', chosen[0]?.family ?? 4);
  }) as LookupFunction;
  const payload = Buffer.from(body, 'utf8');
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new TimeoutError(timeoutMs));
    const request = transport.request(url, {
      method: 'POST',
      lookup,
      // A fresh connection per call: a pooled socket would carry over a host's earlier address.
      agent: false,
      headers: { 'content-type': 'application/json', 'user-agent': 'Charter-Webhooks/1', ...headers, 'content-length': String(payload.length) },
    });
    let status: number | undefined;
    let retryAfter: string | undefined;
    const chunks: Buffer[] = [];
    let received = 0;
    const finish = () => {
      if (status === undefined) return;
      resolve({ status, body: decodeCapped(Buffer.concat(chunks), maxResponseBytes), retryAfter });
    };
    const onAbort = () => {
      // Once the receiver has answered, its status stands; only the rest of its body is given up.
      if (status !== undefined) finish();
      else reject(new TimeoutError(timeoutMs));
      request.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    request.on('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      if (status !== undefined) finish();
      else reject(error);
    });
    request.on('response', (response) => {
      status = response.statusCode ?? 0;
      retryAfter = response.headers['retry-after'];
      response.on('data', (chunk: Buffer) => {
        const room = maxResponseBytes - received;
        if (room > 0) chunks.push(chunk.subarray(0, room));
        received += chunk.length;
        if (received >= maxResponseBytes) {
          // Enough read: drop the connection rather than drain a receiver that keeps on sending.
          signal.removeEventListener('abort', onAbort);
          finish();
          response.destroy();
          request.destroy();
        }
      });
      response.on('end', () => {
        signal.removeEventListener('abort', onAbort);
        finish();
      });
      response.on('error', () => {
        signal.removeEventListener('abort', onAbort);
        finish();
      });
    });
    request.end(payload);
  });
}

/** UTF-8 text of at most `max` bytes, without a character cut in half at the end. */
function decodeCapped(bytes: Buffer, max: number): string {
  const text = bytes.subarray(0, max).toString('utf8');
  return bytes.length >= max ? text.replace(/\uFFFD+$/, '') : text;
}

class TimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

function withDeadline<T>(work: Promise<T>, signal: AbortSignal, timeoutMs: number): Promise<T> {
  if (signal.aborted) return Promise.reject(new TimeoutError(timeoutMs));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new TimeoutError(timeoutMs));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A short, plain reason for an outcome without an answer. */
function describe(error: unknown): string {
  if (error instanceof Refusal) return `refused: ${error.message}`;
  if (error instanceof TimeoutError) return `timeout: ${error.message}`;
  if (error instanceof TypeError && /Invalid URL/i.test(error.message)) return 'refused: the url is not an absolute URL';
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `dns: ${message}`;
  return `connection: ${message}`;
}
