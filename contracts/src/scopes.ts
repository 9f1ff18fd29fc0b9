import { z } from 'zod';

/** Every resource a scope can name. */
export const SCOPE_RESOURCES = ['modules', 'records', 'api-keys', 'usage', 'webhooks'] as const;
/** Every action a scope can name. */
export const SCOPE_ACTIONS = ['read', 'write', 'delete'] as const;

export type ScopeResource = (typeof SCOPE_RESOURCES)[number];
export type ScopeAction = (typeof SCOPE_ACTIONS)[number];
/** What an endpoint requires: always a resource and an action, never a wildcard. */
export type RequiredScope = `${ScopeResource}:${ScopeAction}`;

/**
 * The scope grammar of API.md: `*`, `<resource>:*`, `<resource>:<action>` and
 * `<resource>:<action>:<id>` (one object, e.g. `records:read:mod_…` for one module's records).
 */
export const SCOPE_PATTERN = new RegExp(
  `^(\\*|(${SCOPE_RESOURCES.join('|')}):(\\*|(${SCOPE_ACTIONS.join('|')})(:[a-z]+_[0-9a-z]{26})?))$`,
);

export const Scope = z
  .string()
  .regex(SCOPE_PATTERN, 'Must be `*`, `<resource>:*`, `<resource>:<action>` or `<resource>:<action>:<id>`.')
  .meta({
    description:
      'A permission. Resources: modules, records, api-keys, usage, webhooks. Actions: read, write, delete. `records:read:<module_id>` grants one module only; `*` and `<resource>:*` are wildcards.',
    example: 'records:read',
  });

/**
 * Whether a key holding `granted` may do `required` (optionally on one object `targetId`).
 * Fail-closed: anything that does not parse grants nothing.
 */
export function scopeGrants(granted: string, required: RequiredScope, targetId?: string): boolean {
  if (granted === '*') return true;
  const [resource, action, id] = granted.split(':');
  const [needResource, needAction] = required.split(':');
  if (resource !== needResource) return false;
  if (action === '*') return id === undefined;
  if (action !== needAction) return false;
  if (id === undefined) return true;
  return targetId !== undefined && id === targetId;
}

/** The required scopes a key is missing, in declaration order; empty when it may proceed. */
export function missingScopes(granted: readonly string[], required: readonly RequiredScope[], targetId?: string): RequiredScope[] {
  return required.filter((need) => !granted.some((have) => scopeGrants(have, need, targetId)));
}

/**
 * Whether every scope in `requested` is covered by `held`: a key may only hand out what it has.
 * `records:read:<id>` is covered by `records:read`; `records:*` only by `records:*` or `*`.
 */
export function scopesCover(held: readonly string[], requested: readonly string[]): boolean {
  return requested.every((want) => held.some((have) => scopeCovers(have, want)));
}

function scopeCovers(have: string, want: string): boolean {
  if (have === '*') return true;
  if (want === '*') return false;
  const [hr, ha, hid] = have.split(':');
  const [wr, wa, wid] = want.split(':');
  if (hr !== wr) return false;
  if (ha === '*') return hid === undefined;
  if (wa === '*') return false;
  if (ha !== wa) return false;
  if (hid === undefined) return true;
  return hid === wid;
}
