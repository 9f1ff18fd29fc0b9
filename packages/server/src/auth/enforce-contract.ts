import { type EndpointContract, missingScopes, scopeDeclarationProblem, servesAnyKey } from '@charter/contracts';
import type { Principal } from '../context.ts';
import { ApiError } from '../errors.ts';
import { t } from '../trpc.ts';

/** The 401 every key problem gets: one body, one header, so that none can be told apart. */
export function unauthorized(): ApiError {
  return new ApiError('unauthorized', 'A valid API key is required.', {}, { 'WWW-Authenticate': 'Bearer realm="api"' });
}

/**
 * The one scope rule: the principal must exist and hold every scope the contract requires, for
 * the object its input names (`scopeTarget`). Fail-closed: a contract without scopes is refused,
 * unless it declares `access: 'any-key'`, which any valid key may call. Returns the principal,
 * known to be present.
 */
export function authorize(contract: EndpointContract | undefined, principal: Principal | undefined, rawInput: unknown): Principal {
  if (!contract || scopeDeclarationProblem(contract)) {
    throw new ApiError('server_error', 'This operation declares no required scopes and is not served.');
  }
  if (!principal) throw unauthorized();
  if (servesAnyKey(contract)) return principal;
  let target: string | undefined;
  if (contract.scopeTarget) {
    const value = (rawInput as Record<string, unknown> | undefined)?.[contract.scopeTarget];
    target = typeof value === 'string' ? value : undefined;
  }
  const missing = missingScopes(principal.scopes, contract.scopes, target);
  if (missing.length > 0) {
    throw new ApiError('access_denied', `Insufficient permissions. Required scope: ${missing.join(', ')}`, { required_scopes: missing });
  }
  return principal;
}

/**
 * Enforces the contract declared in the procedure's meta before the handler (and before input
 * validation), whatever transport called the procedure. The REST edge has already applied the
 * same rule before claiming an Idempotency-Key; this keeps every other caller fail-closed.
 */
export const enforceContract = t.middleware(async function enforceContract({ ctx, meta, getRawInput, next }) {
  const principal = authorize(meta?.contract, ctx.principal, meta?.contract?.scopeTarget ? await getRawInput() : undefined);
  return next({ ctx: { ...ctx, principal } });
});
