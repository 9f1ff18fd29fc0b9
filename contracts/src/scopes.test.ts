import { describe, expect, it } from 'vitest';
import { missingScopes, SCOPE_PATTERN, scopeGrants, scopesCover } from './scopes.ts';

const MODULE = 'mod_01jd8x3k5q9v2m7n4p6r8t0w1y';
const OTHER = 'mod_01jd8x3k5q9v2m7n4p6r8t0w1z';

describe('scope grammar', () => {
  it('accepts the forms of API.md and nothing else', () => {
    for (const scope of ['*', 'records:*', 'records:read', `records:read:${MODULE}`, 'api-keys:write', 'usage:read', 'webhooks:delete']) {
      expect(SCOPE_PATTERN.test(scope), scope).toBe(true);
    }
    for (const scope of ['', 'records', 'records:', 'records:admin', 'files:read', '*:read', 'records:*:x', `records:read:${MODULE}:x`, ' records:read']) {
      expect(SCOPE_PATTERN.test(scope), scope).toBe(false);
    }
  });
});

describe('what a key may do', () => {
  it('grants exact, wildcard and one-module scopes', () => {
    expect(scopeGrants('*', 'records:delete')).toBe(true);
    expect(scopeGrants('records:*', 'records:delete')).toBe(true);
    expect(scopeGrants('records:read', 'records:read', MODULE)).toBe(true);
    expect(scopeGrants(`records:read:${MODULE}`, 'records:read', MODULE)).toBe(true);
  });

  it('fails closed on everything else', () => {
    expect(scopeGrants('records:read', 'records:write')).toBe(false);
    expect(scopeGrants('modules:*', 'records:read')).toBe(false);
    expect(scopeGrants(`records:read:${MODULE}`, 'records:read', OTHER)).toBe(false);
    expect(scopeGrants(`records:read:${MODULE}`, 'records:read')).toBe(false);
    expect(scopeGrants('garbage', 'records:read')).toBe(false);
  });

  it('lists the missing scopes in declaration order', () => {
    expect(missingScopes(['modules:read'], ['modules:read', 'records:write'])).toEqual(['records:write']);
    expect(missingScopes([], ['usage:read'])).toEqual(['usage:read']);
  });
});

describe('what a key may hand out', () => {
  it('covers only subsets of its own scopes', () => {
    expect(scopesCover(['*'], ['*'])).toBe(true);
    expect(scopesCover(['records:*'], ['records:read', `records:write:${MODULE}`])).toBe(true);
    expect(scopesCover(['records:read'], [`records:read:${MODULE}`])).toBe(true);
    expect(scopesCover(['records:read'], ['records:*'])).toBe(false);
    expect(scopesCover(['records:*'], ['*'])).toBe(false);
    expect(scopesCover([`records:read:${MODULE}`], ['records:read'])).toBe(false);
    expect(scopesCover([`records:read:${MODULE}`], [`records:read:${OTHER}`])).toBe(false);
    expect(scopesCover(['modules:read'], ['modules:read', 'api-keys:write'])).toBe(false);
  });
});
