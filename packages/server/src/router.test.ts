import { endpoints } from '@charter/contracts';
import { describe, expect, it } from 'vitest';
import { authorize } from './auth/enforce-contract.ts';
import type { Principal } from './context.ts';
import { buildRouter, handlers, procedureFor } from './router.ts';

describe('the router', () => {
  it('serves every contract, each with its handler', () => {
    const router = buildRouter();
    expect(Object.keys(router._def.procedures).sort()).toEqual(Object.keys(endpoints).sort());
    expect(Object.keys(handlers).sort()).toEqual(Object.keys(endpoints).sort());
  });

  it('refuses at start-up to serve an endpoint that declares no scopes', () => {
    const open = { ...endpoints.listModules, scopes: [] as unknown as typeof endpoints.listModules.scopes };
    expect(() => procedureFor('listModules', open, handlers.listModules as never)).toThrow(/declares no required scopes/);
  });

  it("serves scopes: [] only with access: 'any-key', and refuses the flag beside scopes", () => {
    const current = endpoints.getCurrentApiKey;
    expect(() => procedureFor('getCurrentApiKey', current, handlers.getCurrentApiKey as never)).not.toThrow();
    const unflagged = { ...current, access: undefined };
    expect(() => procedureFor('getCurrentApiKey', unflagged, handlers.getCurrentApiKey as never)).toThrow(/declares no required scopes/);
    const both = { ...endpoints.listModules, access: 'any-key' as const };
    expect(() => procedureFor('listModules', both, handlers.listModules as never)).toThrow(/together with scopes/);
    const unknown = { ...current, access: 'anyone' as unknown as 'any-key' };
    expect(() => procedureFor('getCurrentApiKey', unknown, handlers.getCurrentApiKey as never)).toThrow(/unknown access/);
  });

  it('lets any principal through an any-key contract, never a missing one, and no other contract', () => {
    const principal = { keyId: 'key_x', workspaceId: 'ws_x', scopes: ['webhooks:read'] } as unknown as Principal;
    expect(authorize(endpoints.getCurrentApiKey, principal, {})).toBe(principal);
    expect(() => authorize(endpoints.getCurrentApiKey, undefined, {})).toThrow(/valid API key/);
    expect(() => authorize({ ...endpoints.getCurrentApiKey, access: undefined }, principal, {})).toThrow(/declares no required scopes/);
    expect(() => authorize(endpoints.getApiKey, principal, {})).toThrow(/Insufficient permissions/);
  });

  it('lists a literal path before any parameterised path that would also match it (routes match in order)', () => {
    const contracts = Object.values(endpoints);
    const pattern = (path: string) => new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}$`);
    contracts.forEach((later, index) => {
      for (const earlier of contracts.slice(0, index)) {
        if (earlier.method !== later.method || earlier.path === later.path) continue;
        const shadowed = pattern(earlier.path).test(later.path.replace(/\{\w+\}/g, 'x'));
        expect(shadowed, `${later.method} ${later.path} is shadowed by ${earlier.path}`).toBe(false);
      }
    });
  });
});
