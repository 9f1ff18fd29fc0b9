import { describe, expect, it } from 'vitest';
import { API_KEY_PATTERN, digestKey, generateApiKey, isWellFormedApiKey, presentedKey } from './api-key.ts';

describe('API keys', () => {
  it('have the published format, a display prefix and last four characters', () => {
    const key = generateApiKey('test');
    expect(key.plaintext).toMatch(/^sk_test_[0-9A-Za-z]{38}$/);
    expect(API_KEY_PATTERN.test(`token=${key.plaintext};`)).toBe(true);
    expect(key.prefix).toBe(key.plaintext.slice(0, 12));
    expect(key.last4).toBe(key.plaintext.slice(-4));
    expect(key.digest.equals(digestKey(key.plaintext))).toBe(true);
    expect(isWellFormedApiKey(key.plaintext)).toBe(true);
  });

  it('carry at least 128 bits of randomness: no repeats, every base62 character used', () => {
    const keys = Array.from({ length: 2000 }, () => generateApiKey().plaintext);
    expect(new Set(keys).size).toBe(keys.length);
    const characters = new Set(keys.flatMap((key) => [...key.slice(8, 40)]));
    expect(characters.size).toBe(62);
    expect(32 * Math.log2(62)).toBeGreaterThan(128);
  });

  it('are refused when truncated, altered or padded, before any lookup', () => {
    const { plaintext } = generateApiKey();
    expect(isWellFormedApiKey(plaintext.slice(0, -1))).toBe(false);
    expect(isWellFormedApiKey(`${plaintext}x`)).toBe(false);
    const flipped = plaintext.slice(0, 20) + (plaintext[20] === 'a' ? 'b' : 'a') + plaintext.slice(21);
    expect(isWellFormedApiKey(flipped)).toBe(false);
    expect(isWellFormedApiKey(plaintext.replace('sk_live_', 'sk_prod_'))).toBe(false);
  });

  it('are read from Bearer, ApiKey and X-API-Key', () => {
    expect(presentedKey({ authorization: ['Bearer abc'] })).toBe('abc');
    expect(presentedKey({ authorization: ['apikey abc'] })).toBe('abc');
    expect(presentedKey({ authorization: ['BEARER   abc  '] })).toBe('abc');
    expect(presentedKey({ 'x-api-key': ['abc'] })).toBe('abc');
    expect(presentedKey({ authorization: ['Bearer abc'], 'x-api-key': ['abc'] })).toBe('abc');
    expect(presentedKey({})).toBeUndefined();
  });

  it('are not read from any other form', () => {
    for (const authorization of ['abc', 'sk_live_abc', 'Basic abc', 'Bearer', 'Bearer ', 'Bearer a b', 'Bearerabc', 'Token abc', 'Bearer\tabc']) {
      expect(presentedKey({ authorization: [authorization] }), authorization).toBeUndefined();
    }
    // Sent twice, even with the same value, or two different keys at once: ambiguous, so no key.
    expect(presentedKey({ authorization: ['Bearer abc', 'Bearer abc'] })).toBeUndefined();
    expect(presentedKey({ 'x-api-key': ['abc', 'def'] })).toBeUndefined();
    expect(presentedKey({ authorization: ['Bearer abc'], 'x-api-key': ['def'] })).toBeUndefined();
    expect(presentedKey({ authorization: ['Basic abc'], 'x-api-key': ['abc'] })).toBeUndefined();
    expect(presentedKey({ 'x-api-key': [''] })).toBeUndefined();
  });
});
