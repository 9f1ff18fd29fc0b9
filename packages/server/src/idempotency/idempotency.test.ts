import { describe, expect, it } from 'vitest';
import { generateApiKey } from '../auth/api-key.ts';
import { type IdempotencyTarget, openReply, sealReply } from './idempotency.ts';

const reply = JSON.stringify({ id: 'key_01jd8x3k5q9v2m7n4p6r8t0w1y', key: generateApiKey().plaintext });

function target(sealWith: string | undefined, idempotencyKey = 'retry-1'): IdempotencyTarget {
  return { keyId: 'key_01jd8x3k5q9v2m7n4p6r8t0w1z', idempotencyKey, fingerprint: Buffer.alloc(32), sealWith };
}

describe('sealed replies', () => {
  it('open for the secret that sealed them, and hold nothing readable', () => {
    const secret = generateApiKey().plaintext;
    const sealed = sealReply(target(secret), 201, reply);
    expect(sealed).toMatch(/^v1\.[A-Za-z0-9+/]+=*$/);
    expect(sealed).not.toContain(JSON.parse(reply).key);
    expect(openReply(target(secret), 201, sealed)).toBe(reply);
    // A fresh IV each time: two seals of one reply differ.
    expect(sealReply(target(secret), 201, reply)).not.toBe(sealed);
  });

  it('do not open for another secret, another Idempotency-Key, another status, or no secret', () => {
    const secret = generateApiKey().plaintext;
    const sealed = sealReply(target(secret), 201, reply);
    expect(openReply(target(generateApiKey().plaintext), 201, sealed)).toBeUndefined();
    expect(openReply(target(secret, 'retry-2'), 201, sealed)).toBeUndefined();
    expect(openReply(target(secret), 200, sealed)).toBeUndefined();
    expect(openReply(target(undefined), 201, sealed)).toBeUndefined();
  });

  it('leave replies without a secret as they are', () => {
    expect(sealReply(target(undefined), 201, reply)).toBe(reply);
    expect(openReply(target(generateApiKey().plaintext), 201, reply)).toBe(reply);
    expect(openReply(target(undefined), 204, '')).toBe('');
  });
});
