import type { z } from 'zod';
import type { ErrorStatus } from './errors.ts';
import type { RequiredScope } from './scopes.ts';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/**
 * Everything the platform needs to know about one endpoint, declared once.
 * The server enforces it, the OpenAPI document describes it, the client is generated from that.
 */
export interface EndpointContract<
  Input extends z.ZodObject = z.ZodObject,
  Output extends z.ZodType = z.ZodType,
> {
  /** Stable operation id, camelCase: becomes the generated clients' method name. */
  operationId: string;
  method: HttpMethod;
  /** Path below `/api/v1`, with `{snake_case}` parameters that are also keys of `input`. */
  path: string;
  tags: [string, ...string[]];
  summary: string;
  description: string;
  /**
   * Scopes the key must hold, all of them. An endpoint with none is refused at start-up, unless it
   * declares `access: 'any-key'`.
   */
  scopes: [RequiredScope, ...RequiredScope[]] | [];
  /**
   * The one exception to "every endpoint requires a scope": `'any-key'` lets any valid key call the
   * endpoint, with `scopes: []`. Only for an endpoint that reveals nothing but the caller's own key
   * and workspace (`GET /api-keys/current`); a key still needs to be valid (401 otherwise).
   */
  access?: 'any-key';
  /**
   * The input key whose value narrows one-object scopes: with `scopeTarget: 'module_id'`,
   * `records:read:mod_x` satisfies `records:read` for module `mod_x` only.
   */
  scopeTarget?: keyof z.infer<Input> & string;
  successStatus: 200 | 201 | 204;
  /** Whether the endpoint honours an `Idempotency-Key` header (POST, PATCH and DELETE do). */
  idempotent: boolean;
  /**
   * Set when the success body carries a secret: the response is sent with `Cache-Control:
   * no-store`, and its stored idempotent reply is sealed under the caller's own secret.
   */
  returnsSecret?: true;
  /** Path parameters, query parameters (GET) or body fields (POST, PATCH), as one object. */
  input: Input;
  /** The success body (ignored for 204). */
  output: Output;
  /** Error statuses this endpoint can return beyond those every authenticated endpoint can. */
  errors: ErrorStatus[];
  /** Set on list endpoints: they paginate, and take `sort` and `fields` over these names. */
  list?: { sortable: readonly string[]; fields: readonly string[] };
}

/** Declares an endpoint; the identity function, there for type inference and one place to look. */
export function defineEndpoint<Input extends z.ZodObject, Output extends z.ZodType, Method extends HttpMethod>(
  // The method stays a literal in the type, so that typed transports tell reads from writes (tRPC's queries and mutations).
  contract: EndpointContract<Input, Output> & { method: Method },
): EndpointContract<Input, Output> & { method: Method } {
  return contract;
}

/**
 * Whether the contract's scope declaration is well formed: at least one scope, or none together
 * with `access: 'any-key'` (never both). Returns a reason to refuse, or null. The router checks it
 * at start-up and the scope rule again on every call.
 */
export function scopeDeclarationProblem(contract: Pick<EndpointContract, 'scopes' | 'access'>): string | null {
  if (contract.access === 'any-key') return contract.scopes.length === 0 ? null : "declares access 'any-key' together with scopes";
  if (contract.access !== undefined) return `declares an unknown access '${String(contract.access)}'`;
  return contract.scopes.length === 0 ? 'declares no required scopes' : null;
}

/** Whether any valid key may call the endpoint, whatever its scopes (`access: 'any-key'`, checked). */
export function servesAnyKey(contract: Pick<EndpointContract, 'scopes' | 'access'>): boolean {
  return contract.access === 'any-key' && scopeDeclarationProblem(contract) === null;
}

/**
 * Errors any authenticated endpoint can return, whatever it declares (503: its workspace is over
 * its share of database work, or a statement ran past the statement timeout).
 */
export const COMMON_ERROR_STATUSES: readonly ErrorStatus[] = [401, 403, 429, 431, 500, 503];
