import { createHmac, createPrivateKey, createPublicKey, sign as edSign, randomBytes } from 'node:crypto';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com, "Signature scheme").
 *
 * What is signed is `${id}.${timestamp}.${body}`: the event's ID (the same on every attempt, so a
 * receiver can use it to drop repeats), the attempt's Unix time in seconds, and the exact body
 * sent. Two schemes, told apart by the secret's prefix, as the specification serialises them:
 * - `whsec_` + base64 of random bytes: HMAC-SHA256, signature `v1,<base64>`;
 * - `whsk_` + base64 of an Ed25519 private key's 32-byte seed: Ed25519, signature `v1a,<base64>`.
 *   Its public key, `whpk_` + base64 of the 32 raw bytes, is what the receiver holds: it can
 *   verify and never sign.
 */

export const SYMMETRIC_PREFIX = 'whsec_';
export const SECRET_KEY_PREFIX = 'whsk_';
export const PUBLIC_KEY_PREFIX = 'whpk_';

/** Random bytes of a new `whsec_` secret: the specification asks for at least 24 (and at most 64). */
const SYMMETRIC_SECRET_BYTES = 32;
const MIN_SYMMETRIC_SECRET_BYTES = 24;
const MAX_SYMMETRIC_SECRET_BYTES = 64;
const ED25519_KEY_BYTES = 32;

// DER wrappers around raw Ed25519 keys (RFC 8410): node:crypto imports keys as PKCS#8 and SPKI.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The headers a delivery carries, named as the specification names them. */
export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** A new symmetric signing secret: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return SYMMETRIC_PREFIX + randomBytes(SYMMETRIC_SECRET_BYTES).toString('base64');
}

/** A new Ed25519 key pair: `whsk_…` signs (kept by the sender), `whpk_…` verifies (given to the receiver). */
export function generateWebhookKeyPair(): { secretKey: string; publicKey: string } {
  const seed = randomBytes(ED25519_KEY_BYTES);
  const secretKey = SECRET_KEY_PREFIX + seed.toString('base64');
  return { secretKey, publicKey: webhookPublicKey(secretKey) };
}

/** The `whpk_` public key of a `whsk_` secret key. */
export function webhookPublicKey(secretKey: string): string {
  const raw = createPublicKey(ed25519PrivateKey(secretKey)).export({ format: 'der', type: 'spki' });
  return PUBLIC_KEY_PREFIX + raw.subarray(SPKI_ED25519_PREFIX.length).toString('base64');
}

/** Whether `secret` is a well-formed signing secret (`whsec_` or `whsk_`), without throwing. */
export function isSigningSecret(secret: string): boolean {
  try {
    keyBytes(secret);
    return true;
  } catch {
    return false;
  }
}

/**
 * One signature, `v1,…` for a `whsec_` secret or `v1a,…` for a `whsk_` key.
 * @param timestamp Unix time in seconds of this attempt.
 * @throws Error on a secret of neither form.
 */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  assertSignable(id, timestamp);
  const content = Buffer.from(`${id}.${timestamp}.${body}`, 'utf8');
  const { scheme, bytes } = keyBytes(secret);
  if (scheme === 'v1') return `v1,${createHmac('sha256', bytes).update(content).digest('base64')}`;
  return `v1a,${edSign(null, content, ed25519PrivateKey(secret)).toString('base64')}`;
}

/**
 * The three headers of one attempt. Every secret given signs, space-separated in one
 * `webhook-signature`, so that during a rotation's grace period receivers holding either the old
 * or the new secret accept the delivery.
 * @param secrets at least one; the current secret first.
 * @param timestamp Unix time in seconds; defaults to now.
 */
export function webhookHeaders(
  input: { id: string; body: string; secrets: readonly string[]; timestamp?: number },
): WebhookHeaders {
  if (input.secrets.length === 0) throw new Error('A webhook needs at least one signing secret.');
  const timestamp = input.timestamp ?? Math.floor(Date.now() / 1000);
  const signatures = input.secrets.map((secret) => signWebhook(secret, input.id, timestamp, input.body));
  return { 'webhook-id': input.id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signatures.join(' ') };
}

function assertSignable(id: string, timestamp: number): void {
  // The specification: the ID and timestamp must not hold a '.', or one signed content could be
  // read as another (id "a.1" with timestamp 2 against id "a" with timestamp "1.2").
  if (id.length === 0 || /[.\s]/.test(id)) throw new Error('A webhook ID must be non-empty, without dots or spaces.');
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new Error('A webhook timestamp must be whole seconds since the epoch.');
}

function keyBytes(secret: string): { scheme: 'v1' | 'v1a'; bytes: Buffer } {
  if (secret.startsWith(SYMMETRIC_PREFIX)) {
    const bytes = decodeBase64(secret.slice(SYMMETRIC_PREFIX.length));
    if (bytes && bytes.length >= MIN_SYMMETRIC_SECRET_BYTES && bytes.length <= MAX_SYMMETRIC_SECRET_BYTES) return { scheme: 'v1', bytes };
  } else if (secret.startsWith(SECRET_KEY_PREFIX)) {
    const bytes = decodeBase64(secret.slice(SECRET_KEY_PREFIX.length));
    if (bytes && bytes.length === ED25519_KEY_BYTES) return { scheme: 'v1a', bytes };
  }
  // Never echo the secret itself.
  throw new Error('A signing secret must be whsec_ + base64 of 24 to 64 bytes, or whsk_ + base64 of a 32-byte Ed25519 seed.');
}

function decodeBase64(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

function ed25519PrivateKey(secretKey: string) {
  const { scheme, bytes } = keyBytes(secretKey);
  if (scheme !== 'v1a') throw new Error('An Ed25519 key must be whsk_ + base64 of a 32-byte seed.');
  return createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, bytes]), format: 'der', type: 'pkcs8' });
}
