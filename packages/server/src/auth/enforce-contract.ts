import { missingScopes } from '@charter/contracts';
import type { Principal } from '../context.ts';
import { ApiError } from '../errors.ts';
import { t } from '../trpc.ts';

/** The 401 every key problem gets: one body, one header, so that none can be told apart. */
export function unauthorized(): ApiError {
  return new ApiError('unauthorized', 'A valid API key is required.', {}, { 'WWW-Authenticate': 'Bearer realm="api"' });
}

/**
 * Enforces the contract declared in the procedure's meta before the handler (and before input
 * validation): a key must be present and hold every required scope. Fail-closed: a procedure
 * without a contract is refused.
 */
export const enforceContract = t.middleware(async function enforceContract({ ctx, meta, getRawInput, next }) {
  const contract = meta?.contract;
  if (!contract || contract.scopes.length === 0) {
    throw new ApiError('server_error', 'This operation declares no required scopes and is not served.');
  }
  if (!ctx.principal) throw unauthorized();
  let target: string | undefined;
  if (contract.scopeTarget) {
    const raw = (await getRawInput()) as Record<string, unknown> | undefined;
    const value = raw?.[contract.scopeTarget];
    target = typeof value === 'string' ? value : undefined;
  }
  const missing = missingScopes(ctx.principal.scopes, contract.scopes, target);
  if (missing.length > 0) {
    throw new ApiError(
      'access_denied',
      `Insufficient permissions. Required scope: ${missing.join(', ')}`,
      { required_scopes: missing },
    );
  }
  const principal: Principal = ctx.principal;
  return next({ ctx: { ...ctx, principal } });
});
