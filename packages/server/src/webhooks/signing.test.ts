import { createPublicKey, verify as edVerify } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  generateWebhookKeyPair,
  generateWebhookSecret,
  isSigningSecret,
  signWebhook,
  webhookHeaders,
  webhookPublicKey,
} from './signing.ts';

const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
const timestamp = 1614265330;
const body = '{"test": 2432232314}';

function verifyEd25519(publicKey: string, content: string, signature: string): boolean {
  const raw = Buffer.from(publicKey.slice('whpk_'.length), 'base64');
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
  return edVerify(null, Buffer.from(content), key, Buffer.from(signature.slice('v1a,'.length), 'base64'));
}

describe('Standard Webhooks signing', () => {
  it('matches the specification libraries’ published vectors (HMAC v1 and Ed25519 v1a)', () => {
    // Vectors from the Standard Webhooks reference libraries' own tests.
    expect(signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', id, timestamp, body)).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    expect(signWebhook('whsk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=', id, timestamp, body)).toBe(
      'v1a,tQ9V2XOqn7jL/DQenEFpqIugdBVtiMmER5mhSkXBNwM0mkATuDe6KYYUuxqtaiHeYGb7KaaBRdM5WqyeFiL8Ag==',
    );
  });

  it('is verified by the standardwebhooks package from npm, an independent implementation', () => {
    const secret = generateWebhookSecret();
    const payload = JSON.stringify({ id: 'evt_1', type: 'record.created', data: { name: 'Ada «è»' } });
    const headers = webhookHeaders({ id: 'evt_01hz', body: payload, secrets: [secret] });
    expect(new Webhook(secret).verify(payload, { ...headers })).toEqual(JSON.parse(payload));
    // A changed body, ID or timestamp no longer verifies.
    expect(() => new Webhook(secret).verify(`${payload} `, { ...headers })).toThrow(/signature/i);
    expect(() => new Webhook(secret).verify(payload, { ...headers, 'webhook-id': 'evt_01hy' })).toThrow(/signature/i);
    const later = String(Number(headers['webhook-timestamp']) + 1);
    expect(() => new Webhook(secret).verify(payload, { ...headers, 'webhook-timestamp': later })).toThrow(/signature/i);
    expect(() => new Webhook(generateWebhookSecret()).verify(payload, { ...headers })).toThrow(/signature/i);
  });

  it('signs with every secret during a rotation: receivers holding either one accept', () => {
    const previous = generateWebhookSecret();
    const current = generateWebhookSecret();
    const payload = '{"type":"webhook.test"}';
    const headers = webhookHeaders({ id: 'evt_2', body: payload, secrets: [current, previous] });
    const signatures = headers['webhook-signature'].split(' ');
    expect(signatures).toHaveLength(2);
    expect(signatures.every((signature) => signature.startsWith('v1,'))).toBe(true);
    expect(new Webhook(previous).verify(payload, { ...headers })).toEqual({ type: 'webhook.test' });
    expect(new Webhook(current).verify(payload, { ...headers })).toEqual({ type: 'webhook.test' });
  });

  it('signs v1a with a whsk_ key, verifiable with its whpk_ public key alone', () => {
    const pair = generateWebhookKeyPair();
    expect(pair.secretKey).toMatch(/^whsk_[A-Za-z0-9+/]{43}=$/);
    expect(pair.publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    expect(webhookPublicKey(pair.secretKey)).toBe(pair.publicKey);
    const headers = webhookHeaders({ id: 'evt_3', body, secrets: [pair.secretKey], timestamp });
    expect(headers).toEqual({ 'webhook-id': 'evt_3', 'webhook-timestamp': String(timestamp), 'webhook-signature': expect.stringMatching(/^v1a,/) });
    expect(verifyEd25519(pair.publicKey, `evt_3.${timestamp}.${body}`, headers['webhook-signature'])).toBe(true);
    expect(verifyEd25519(pair.publicKey, `evt_3.${timestamp}.${body} `, headers['webhook-signature'])).toBe(false);
    expect(verifyEd25519(generateWebhookKeyPair().publicKey, `evt_3.${timestamp}.${body}`, headers['webhook-signature'])).toBe(false);
  });

  it('mixes schemes in one header: v1 and v1a side by side', () => {
    const secret = generateWebhookSecret();
    const pair = generateWebhookKeyPair();
    const headers = webhookHeaders({ id: 'evt_4', body, secrets: [pair.secretKey, secret], timestamp });
    const [asymmetric, symmetric] = headers['webhook-signature'].split(' ');
    expect(asymmetric).toMatch(/^v1a,/);
    expect(symmetric).toBe(signWebhook(secret, 'evt_4', timestamp, body));
  });

  it('makes secrets of 32 random bytes, never twice the same', () => {
    const secrets = Array.from({ length: 500 }, generateWebhookSecret);
    expect(new Set(secrets).size).toBe(secrets.length);
    for (const secret of secrets.slice(0, 20)) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    }
  });

  it('refuses malformed secrets, IDs and timestamps without echoing the secret', () => {
    for (const bad of ['', 'whsec_', 'whsec_c2hvcnQ=', 'whsec_not base64!!', 'sk_live_abc', 'whsk_c2hvcnQ=', 'whpk_VEVTVFNJR05JTkdLRVlET05PVFVTRVRISVNGT1JBTlk=']) {
      expect(isSigningSecret(bad), bad).toBe(false);
      expect(() => signWebhook(bad, id, timestamp, body)).toThrow(/signing secret|Ed25519/);
      try {
        signWebhook(bad, id, timestamp, body);
      } catch (error) {
        if (bad.length > 6) expect((error as Error).message).not.toContain(bad);
      }
    }
    const secret = generateWebhookSecret();
    expect(isSigningSecret(secret)).toBe(true);
    expect(() => signWebhook(secret, 'evt.1', timestamp, body)).toThrow(/ID/);
    expect(() => signWebhook(secret, '', timestamp, body)).toThrow(/ID/);
    expect(() => signWebhook(secret, id, 1.5, body)).toThrow(/timestamp/);
    expect(() => webhookHeaders({ id, body, secrets: [] })).toThrow(/at least one/);
  });
});
