import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  verifyWebhook,
  WebhookReplayError,
  WebhookSignatureError,
  WebhookTimestampError,
  WebhookVerificationError,
} from './webhooks.ts';

const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const body = JSON.stringify({ id: 'evt_01j', type: 'record.created', created_at: '2030-01-01T00:00:00.000Z', workspace_id: 'ws_1', data: { name: 'Zoë' } });

/** Headers as the reference Standard Webhooks library signs them. */
function signed(id: string, payload: string, key = secret, at = new Date()) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': new Webhook(key).sign(id, at, payload),
  };
}

function base64(bytes: ArrayBuffer | Uint8Array): string {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)));
}

async function ed25519Pair() {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const publicKey = `whpk_${base64(await crypto.subtle.exportKey('raw', pair.publicKey))}`;
  const sign = async (id: string, timestamp: number, payload: string) =>
    `v1a,${base64(await crypto.subtle.sign('Ed25519', pair.privateKey, new TextEncoder().encode(`${id}.${timestamp}.${payload}`)))}`;
  return { publicKey, sign };
}

async function rejection(promise: Promise<unknown>): Promise<WebhookVerificationError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!(error instanceof WebhookVerificationError)) throw new Error(`expected a WebhookVerificationError, got ${String(error)}`);
  return error;
}

describe('verifyWebhook', () => {
  it('accepts what the standardwebhooks package signs, from a string, bytes, Headers or Node headers', async () => {
    const headers = signed('evt_01j', body);
    const expected = JSON.parse(body);
    expect(await verifyWebhook(body, headers, secret)).toEqual(expected);
    expect(await verifyWebhook(new TextEncoder().encode(body), new Headers(headers), secret)).toEqual(expected);
    const shouting = { 'Webhook-Id': headers['webhook-id'], 'WEBHOOK-TIMESTAMP': headers['webhook-timestamp'], 'webhook-signature': [headers['webhook-signature']] };
    expect(await verifyWebhook(body, shouting, secret)).toEqual(expected);
  });

  it('is typed by the caller’s event type', async () => {
    const event = await verifyWebhook<{ type: 'record.created'; data: { name: string } }>(body, signed('evt_01j', body), secret);
    expect(event.data.name).toBe('Zoë');
  });

  it('rejects a tampered body, a changed ID and another secret', async () => {
    const headers = signed('evt_01j', body);
    const tampered = await rejection(verifyWebhook(body.replace('Zoë', 'Zoe'), headers, secret));
    expect(tampered).toBeInstanceOf(WebhookSignatureError);
    expect(tampered.reason).toBe('invalid_signature');
    expect(await rejection(verifyWebhook(body, { ...headers, 'webhook-id': 'evt_01k' }, secret))).toBeInstanceOf(WebhookSignatureError);
    const other = `whsec_${base64(crypto.getRandomValues(new Uint8Array(32)))}`;
    expect(await rejection(verifyWebhook(body, headers, other))).toBeInstanceOf(WebhookSignatureError);
    for (const signature of ['v1,', 'v1,not-base64!', 'v2,abcd', 'garbage', `v1a,${headers['webhook-signature'].slice(3)}`]) {
      expect(await rejection(verifyWebhook(body, { ...headers, 'webhook-signature': signature }, secret)), signature).toBeInstanceOf(WebhookSignatureError);
    }
  });

  it('accepts any one matching signature among several, and any one of several secrets', async () => {
    const headers = signed('evt_01j', body);
    const rotated = { ...headers, 'webhook-signature': `v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= ${headers['webhook-signature']}` };
    expect(await verifyWebhook(body, rotated, secret)).toMatchObject({ id: 'evt_01j' });
    const other = `whsec_${base64(crypto.getRandomValues(new Uint8Array(32)))}`;
    expect(await verifyWebhook(body, headers, [other, secret])).toMatchObject({ id: 'evt_01j' });
  });

  it('rejects a timestamp outside the tolerance, either way, and takes another tolerance', async () => {
    const old = signed('evt_01j', body, secret, new Date(Date.now() - 301_000));
    const error = await rejection(verifyWebhook(body, old, secret));
    expect(error).toBeInstanceOf(WebhookTimestampError);
    expect(error.reason).toBe('timestamp_out_of_tolerance');
    const future = signed('evt_01j', body, secret, new Date(Date.now() + 301_000));
    expect(await rejection(verifyWebhook(body, future, secret))).toBeInstanceOf(WebhookTimestampError);
    expect(await verifyWebhook(body, old, secret, { toleranceSeconds: 600 })).toMatchObject({ id: 'evt_01j' });
    const fixed = signed('evt_01j', body, secret, new Date('2030-01-01T00:00:00Z'));
    expect(await verifyWebhook(body, fixed, secret, { now: () => Date.parse('2030-01-01T00:04:00Z') })).toMatchObject({ id: 'evt_01j' });
  });

  it('rejects a replayed ID when given a store, and only remembers verified deliveries', async () => {
    const seen = new Set<string>();
    const headers = signed('evt_01j', body);
    await expect(rejection(verifyWebhook(`${body} `, headers, secret, { seen }))).resolves.toBeInstanceOf(WebhookSignatureError);
    expect(seen.size).toBe(0);
    await verifyWebhook(body, headers, secret, { seen });
    expect([...seen]).toEqual(['evt_01j']);
    const replay = await rejection(verifyWebhook(body, headers, secret, { seen }));
    expect(replay).toBeInstanceOf(WebhookReplayError);
    expect(replay.reason).toBe('replayed');
    // Two deliveries of one ID verified at once: a synchronous store lets only one through.
    const fresh = new Set<string>();
    const outcomes = await Promise.allSettled([verifyWebhook(body, headers, secret, { seen: fresh }), verifyWebhook(body, headers, secret, { seen: fresh })]);
    expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
    // An asynchronous store works too.
    const remote = { ids: new Set<string>(), has: async (id: string) => remote.ids.has(id), add: async (id: string) => remote.ids.add(id) };
    await verifyWebhook(body, headers, secret, { seen: remote });
    expect(await rejection(verifyWebhook(body, headers, secret, { seen: remote }))).toBeInstanceOf(WebhookReplayError);
  });

  it('verifies v1a Ed25519 signatures with a whpk_ public key', async () => {
    const pair = await ed25519Pair();
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = { 'webhook-id': 'evt_01m', 'webhook-timestamp': String(timestamp), 'webhook-signature': await pair.sign('evt_01m', timestamp, body) };
    expect(await verifyWebhook(body, headers, pair.publicKey)).toMatchObject({ type: 'record.created' });
    expect(await rejection(verifyWebhook(`${body} `, headers, pair.publicKey))).toBeInstanceOf(WebhookSignatureError);
    expect(await rejection(verifyWebhook(body, headers, (await ed25519Pair()).publicKey))).toBeInstanceOf(WebhookSignatureError);
    // A v1 and a v1a signature side by side: each key checks its own kind.
    const both = { ...headers, 'webhook-signature': `${new Webhook(secret).sign('evt_01m', new Date(timestamp * 1000), body)} ${headers['webhook-signature']}` };
    expect(await verifyWebhook(body, both, pair.publicKey)).toMatchObject({ type: 'record.created' });
    expect(await verifyWebhook(body, both, secret)).toMatchObject({ type: 'record.created' });
  });

  it('verifies the Standard Webhooks reference vector for v1a', async () => {
    // The reference libraries' test vector: its whsk_ seed's public key, message and signature.
    const headers = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==',
    };
    const now = () => 1614265330_000;
    const event = await verifyWebhook('{"test": 2432232314}', headers, 'whpk_ZlN4eg7dSSqi0moX9hQUk3orrOouK3QVQSlJa248c/g=', { now });
    expect(event).toEqual({ test: 2432232314 });
  });

  it('names missing headers, a malformed timestamp, a wrong kind of secret and a body that is not JSON', async () => {
    const headers = signed('evt_01j', body);
    expect((await rejection(verifyWebhook(body, { 'webhook-id': 'evt_01j' }, secret))).reason).toBe('missing_headers');
    expect((await rejection(verifyWebhook(body, { ...headers, 'webhook-timestamp': '12e3' }, secret))).reason).toBe('invalid_timestamp');
    expect((await rejection(verifyWebhook(body, headers, 'whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk='))).message).toMatch(/whpk_ public key/);
    for (const bad of ['', 'secret', 'whsec_c2hvcnQ=', 'whpk_c2hvcnQ=']) {
      expect((await rejection(verifyWebhook(body, headers, bad))).reason, bad).toBe('invalid_secret');
    }
    const text = 'not json';
    expect((await rejection(verifyWebhook(text, signed('evt_01n', text), secret))).reason).toBe('invalid_payload');
  });
});
