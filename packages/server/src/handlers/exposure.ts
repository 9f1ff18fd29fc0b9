import { RECORD_METHODS, type RecordMethod } from '@charter/contracts';
import type { Queryable } from '@charter/db';
import { ApiError, notFound } from '../errors.ts';

/**
 * Exposure per module: the one rule deciding whether a records endpoint of a module is served.
 * It lives with the records handlers rather than at an HTTP edge, so that every transport calling
 * them (REST, tRPC, MCP) gets it without a line of its own.
 */

/** A module's exposure, as stored (migration 0008). */
export interface Exposure {
  id: string;
  api_enabled: boolean;
  api_methods: readonly string[];
}

/** Where each records endpoint lives, and the HTTP method that reaches it there. */
const ENDPOINTS: Record<RecordMethod, { on: 'collection' | 'record'; verb: string }> = {
  list: { on: 'collection', verb: 'GET' },
  create: { on: 'collection', verb: 'POST' },
  get: { on: 'record', verb: 'GET' },
  update: { on: 'record', verb: 'PATCH' },
  delete: { on: 'record', verb: 'DELETE' },
};

/**
 * Throws unless `module` serves `method`: 404 when its records are not served at all, 405 with
 * `Allow` (the methods still served on the same path, possibly none) when this one is switched off.
 */
export function assertExposed(module: Exposure, method: RecordMethod): void {
  if (!module.api_enabled) {
    throw new ApiError('not_found', `The records of module ${module.id} are not served: its api_enabled is false.`);
  }
  if (module.api_methods.includes(method)) return;
  const { on, verb } = ENDPOINTS[method];
  const allowed = RECORD_METHODS.filter((other) => ENDPOINTS[other].on === on && module.api_methods.includes(other));
  throw new ApiError(
    'method_not_allowed',
    `${verb} is switched off on this module's ${on === 'collection' ? 'records' : 'record'}: its api_methods do not include "${method}".`,
    {},
    { Allow: allowed.map((other) => ENDPOINTS[other].verb).join(', ') },
  );
}

/**
 * Loads a module's exposure and asserts it, for the handlers that do not load the module anyway
 * (one primary-key lookup). Another workspace's module is simply not found.
 */
export async function requireExposed(sql: Queryable, workspaceId: string, moduleId: string, method: RecordMethod): Promise<void> {
  const [row] = await sql<Exposure[]>`
    select id, api_enabled, api_methods from modules where id = ${moduleId} and workspace_id = ${workspaceId}`;
  if (!row) throw notFound('Module');
  assertExposed(row, method);
}
