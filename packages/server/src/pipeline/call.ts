import type { EndpointContract } from '@charter/contracts';
import type { Queryable } from '@charter/db';
import type { z } from 'zod';
import type { Principal } from '../context.ts';
import type { ApiError } from '../errors.ts';

/**
 * What the pipeline needs of a tRPC procedure: its own input and output schemas and its resolver.
 * The router stays the one place where an endpoint's handler and schemas are put together.
 */
export interface ServedProcedure {
  _def: {
    inputs: z.ZodType[];
    output?: z.ZodType;
    resolver?: (opts: { ctx: unknown; input: unknown }) => Promise<unknown>;
    meta?: unknown;
  };
}

/** The Idempotency-Key a call carried, as sent, with what makes two calls "the same call". */
export interface IdempotencyRequest {
  /** Each value sent (a transport that can repeat a header passes every one: more than one is a 400). */
  values: readonly string[] | undefined;
  /** Digest of the call as the transport saw it (see `fingerprint`); computed only when a key is present. */
  fingerprint: () => Buffer;
  /** The API secret presented, when the contract returns a secret: the stored reply is sealed under it. */
  sealWith?: string | undefined;
}

/**
 * One call of one endpoint, whatever transport carried it: the contract and the procedure that
 * serves it, who calls, and the input as the caller sent it. A transport adapter builds it; the
 * pipeline's steps fill in what they learn (`input`, `sql`).
 */
export interface Call {
  readonly contract: EndpointContract;
  readonly procedure: ServedProcedure;
  /** Undefined when the call carried no valid key: the scopes step then answers 401. */
  readonly principal: Principal | undefined;
  /** Path parameters, query or body, merged as the transport read them. */
  readonly rawInput: Record<string, unknown>;
  readonly requestId: string;
  /** Present when the contract is idempotent. */
  readonly idempotency?: IdempotencyRequest | undefined;
  /** The parsed Idempotency-Key (set by the idempotency-key step). */
  idempotencyKey?: string | undefined;
  /** The validated input (set by the validation step). */
  input?: unknown;
  /** Where the handler's queries go: the pool, or the transaction that also stores its reply. */
  sql?: Queryable;
}

/** A call's answer, serialised once, before any transport writes it (an idempotent call stores it first). */
export interface Outcome {
  status: number;
  /** The JSON body; undefined for 204. */
  body: string | undefined;
  headers: Record<string, string>;
  /** Set when the answer is an error. */
  error?: ApiError;
  /** What was thrown, when the error answer came from an exception (for the server log). */
  thrown?: unknown;
  /** A list's next cursor, for transports that link to the next page (REST's `Link`). */
  nextCursor?: string | null | undefined;
}

/** One named step of the pipeline: it may answer itself, or hand the call on with `next`. */
export type Step = (call: Call, next: () => Promise<Outcome>) => Promise<Outcome>;
