import { endpoints } from '@charter/contracts';
import { describe, expect, it } from 'vitest';
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
});
