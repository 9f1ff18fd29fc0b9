import { describe, expect, it } from 'vitest';
import type { Principal } from '../context.ts';
import type { Handlers } from '../handlers/types.ts';
import { buildRouter, handlers } from '../router.ts';
import type { Call, ServedProcedure } from './call.ts';
import { compose, handler, scopes, validation } from './steps.ts';

const principal: Principal = {
  keyId: 'key_01jd8x3k5q9v2m7n4p6r8t0w1z',
  workspaceId: 'ws_01jd8x3k5q9v2m7n4p6r8t0w1z',
  scopes: ['modules:read'],
  mode: 'live',
  perMinute: 60,
  burst: 0,
  dailyQuota: null,
  expiresAt: null,
  secretInGrace: false,
  lastUsedAt: null,
};

const module = {
  id: 'mod_01jd8x3k5q9v2m7n4p6r8t0w1y',
  name: 'Leads',
  description: null,
  api_enabled: true,
  api_methods: ['list', 'get', 'create', 'update', 'delete'] as ('list' | 'get' | 'create' | 'update' | 'delete')[],
  fields: [],
  created_at: '2026-01-02T03:04:05.000Z',
  updated_at: '2026-01-02T03:04:05.000Z',
};

/** The list-modules call through scopes, validation and the handler step, served by `listModules`. */
function callList(listModules: Handlers['listModules'], rawInput: Record<string, unknown>) {
  const router = buildRouter({ ...handlers, listModules });
  const procedure = (router._def.procedures as unknown as Record<string, ServedProcedure>).listModules as ServedProcedure;
  const contract = (procedure._def.meta as { contract: Call['contract'] }).contract;
  // The handler below never queries: no database is needed for the steps around it.
  return compose([scopes, validation, handler(undefined as never)])({ contract, procedure, principal, rawInput, requestId: 'req_test' });
}

describe('the handler step', () => {
  it('projects a sparse fieldset on the objects, in the order of the fieldset, and serialises once', async () => {
    const outcome = await callList(
      async (ctx, input) => {
        ctx.listing.fields = input.fields;
        ctx.listing.nextCursor = 'next';
        return { data: [module], total: 1, limit: input.limit, page: 1, has_more: false, next_cursor: null };
      },
      { fields: 'name,id' },
    );
    expect(outcome.status).toBe(200);
    expect(outcome.nextCursor).toBe('next');
    const body = JSON.parse(outcome.body as string) as { data: Record<string, unknown>[] };
    // The fieldset always starts with the item's id (pagination.ts); nothing else of the item is left.
    expect(body.data.map((item) => Object.keys(item))).toEqual([['id', 'name']]);
    expect(body.data[0]).toEqual({ id: module.id, name: 'Leads' });
  });

  it('refuses what the output schema refuses, and never hands it on', async () => {
    const answer = callList(async () => ({ data: [{ ...module, name: 42 }], total: 1, limit: 25, page: 1, has_more: false, next_cursor: null }) as never, {});
    await expect(answer).rejects.toThrow(/returned output its contract refuses/);
  });

  it('checks scopes before input: a key without access learns nothing from a 422', async () => {
    const router = buildRouter(handlers);
    const procedure = (router._def.procedures as unknown as Record<string, ServedProcedure>).listModules as ServedProcedure;
    const contract = (procedure._def.meta as { contract: Call['contract'] }).contract;
    const steps = compose([scopes, validation, handler(undefined as never)]);
    const call = { contract, procedure, principal: { ...principal, scopes: ['records:read'] }, rawInput: { limit: 'many' }, requestId: 'req_test' };
    await expect(steps(call)).rejects.toMatchObject({ code: 'access_denied' });
  });
});
