/**
 * Verifying Charter's webhooks on the receiving side (Standard Webhooks, https://www.standardwebhooks.com).
 * Web Crypto only, so it runs in browsers, Node.js 20+, Deno, Bun and edge runtimes.
 */

/** Why a webhook was rejected. */
export type WebhookRejection =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_out_of_tolerance'
  | 'invalid_signature'
  | 'replayed'
  | 'invalid_secret'
  | 'invalid_payload';

/** The base of every rejection: `instanceof WebhookVerificationError` catches them all; `reason` tells which. */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
  constructor(
    readonly reason: WebhookRejection,
    message: string,
  ) {
    super(message);
  }
}

/** No signature matched: the body, the ID or the timestamp was changed, or another secret signed it. */
export class WebhookSignatureError extends WebhookVerificationError {
  override name = 'WebhookSignatureError';
}

/** `webhook-timestamp` is further from now than the tolerance: a replay of an old delivery, or a clock far off. */
export class WebhookTimestampError extends WebhookVerificationError {
  override name = 'WebhookTimestampError';
}

/** The `webhook-id` is in the store of IDs already seen: this delivery was accepted before. */
export class WebhookReplayError extends WebhookVerificationError {
  override name = 'WebhookReplayError';
}

/**
 * The webhook IDs already accepted. A `Set<string>` works as it is; anything with `has` and `add`
 * (a cache with expiry, Redis) does too. Keep IDs at least as long as the tolerance: an older
 * delivery is refused for its timestamp anyway. A synchronous `has` is checked and followed by
 * `add` in one step; an asynchronous store should make that pair atomic itself (e.g. `SET NX`).
 */
export interface WebhookIdStore {
  has(id: string): boolean | PromiseLike<boolean>;
  add(id: string): unknown;
}

export interface VerifyWebhookOptions {
  /** Largest distance between `webhook-timestamp` and now, in seconds, either way. Default 300 (5 minutes). */
  toleranceSeconds?: number;
  /** IDs already accepted; when given, a delivery whose ID is in it is rejected, and an accepted one is added. */
  seen?: WebhookIdStore;
  /** The current time in milliseconds. Default `Date.now`. */
  now?: () => number;
}

/** Request headers as fetch (`Headers`) or Node.js (`IncomingHttpHeaders`) give them. */
export type WebhookRequestHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * Checks that a webhook came from Charter, unchanged and recently, and returns its event.
 *
 * @param payload the raw request body, exactly as received (never a re-serialised JSON value).
 * @param headers the request's headers: `webhook-id`, `webhook-timestamp`, `webhook-signature`.
 * @param secret the endpoint's `whsec_…` secret (HMAC), or its `whpk_…` public key (Ed25519);
 *   several during a rotation: any one matching signature is enough.
 * @returns the parsed event.
 * @throws WebhookSignatureError, WebhookTimestampError, WebhookReplayError or another
 *   {@link WebhookVerificationError}, whose `reason` says why.
 * @example
 * const event = await verifyWebhook(await request.text(), request.headers, process.env.CHARTER_WEBHOOK_SECRET, { seen });
 */
export async function verifyWebhook<Event = unknown>(
  payload: string | Uint8Array,
  headers: WebhookRequestHeaders,
  secret: string | readonly string[],
  options: VerifyWebhookOptions = {},
): Promise<Event> {
  const id = header(headers, 'webhook-id');
  const timestampText = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestampText || !signatures) {
    throw new WebhookVerificationError('missing_headers', 'A webhook needs the webhook-id, webhook-timestamp and webhook-signature headers.');
  }
  if (!/^\d{1,15}$/.test(timestampText)) throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp must be whole seconds since the epoch.');
  const timestamp = Number(timestampText);
  const now = (options.now ?? Date.now)() / 1000;
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (Math.abs(now - timestamp) > tolerance) {
    throw new WebhookTimestampError('timestamp_out_of_tolerance', `webhook-timestamp is more than ${tolerance} s from now.`);
  }

  const encoder = new TextEncoder();
  const body = typeof payload === 'string' ? encoder.encode(payload) : payload;
  const prefix = encoder.encode(`${id}.${timestampText}.`);
  const content = new Uint8Array(prefix.length + body.length);
  content.set(prefix);
  content.set(body, prefix.length);

  const keys = await Promise.all((typeof secret === 'string' ? [secret] : secret).map(importKey));
  let matched = false;
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',');
    const version = entry.slice(0, comma);
    const signature = decodeBase64(entry.slice(comma + 1));
    if (comma < 0 || !signature) continue;
    for (const key of keys) {
      // crypto.subtle.verify compares HMACs in constant time.
      if (key.version === version && (await crypto.subtle.verify(key.algorithm, key.key, signature, content))) matched = true;
    }
  }
  if (!matched) throw new WebhookSignatureError('invalid_signature', 'No webhook-signature matches this body, ID and timestamp for the given secret.');

  let event: Event;
  try {
    event = JSON.parse(typeof payload === 'string' ? payload : new TextDecoder().decode(payload)) as Event;
  } catch {
    throw new WebhookVerificationError('invalid_payload', 'The webhook body is not JSON.');
  }
  const seen = options.seen;
  if (seen) {
    const had = seen.has(id);
    if (typeof had === 'boolean' ? had : await had) throw new WebhookReplayError('replayed', `Webhook ${id} was already accepted.`);
    await seen.add(id);
  }
  return event;
}

function header(headers: WebhookRequestHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers as Record<string, string | readonly string[] | undefined>)) {
    if (key.toLowerCase() === name) return typeof value === 'string' ? value : value?.join(' ');
  }
  return undefined;
}

async function importKey(secret: string): Promise<{ version: string; algorithm: string; key: CryptoKey }> {
  const symmetric = secret.startsWith('whsec_');
  const bytes = (symmetric || secret.startsWith('whpk_')) && decodeBase64(secret.slice(symmetric ? 6 : 5));
  if (!bytes || (symmetric ? bytes.length < 24 : bytes.length !== 32)) {
    throw new WebhookVerificationError(
      'invalid_secret',
      secret.startsWith('whsk_')
        ? 'A whsk_ key signs; verify with its whpk_ public key.'
        : 'The secret must be the endpoint’s whsec_ secret or its whpk_ public key.',
    );
  }
  const algorithm = symmetric ? 'HMAC' : 'Ed25519';
  const key = await crypto.subtle.importKey('raw', bytes, symmetric ? { name: algorithm, hash: 'SHA-256' } : { name: algorithm }, false, ['verify']);
  return { version: symmetric ? 'v1' : 'v1a', algorithm, key };
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  return Uint8Array.from(atob(text), (character) => character.charCodeAt(0));
}
