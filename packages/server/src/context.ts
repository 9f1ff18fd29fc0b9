import type { Queryable } from '@charter/db';

/** Who is calling: the API key that authenticated the request. */
export interface Principal {
  keyId: string;
  workspaceId: string;
  scopes: readonly string[];
  mode: 'live' | 'test';
  /** Effective limits: the key's own, or its tier's. */
  perMinute: number;
  burst: number;
  dailyQuota: number | null;
  /** When the key stops working, or null when it never does. */
  expiresAt: Date | null;
  /**
   * Whether the presented secret is a previous one still in its rotation's grace period: it may
   * call the API but not manage keys (else a leaked old secret could rotate the owner out).
   */
  secretInGrace: boolean;
  lastUsedAt: Date | null;
}

/** What every procedure receives. Built once per request by the HTTP edge. */
export interface Context {
  /** The pool, or for an idempotent request the transaction that will also store its response. */
  sql: Queryable;
  requestId: string;
  /** Undefined when the request carried no valid key; the contract middleware then answers 401. */
  principal: Principal | undefined;
  /**
   * What a list handler tells the HTTP edge. A shared object rather than context fields, because
   * tRPC middlewares hand procedures a copy of the context.
   */
  listing: ListingHints;
}

export interface ListingHints {
  /** The sparse fieldset the edge projects list items onto. */
  fields?: readonly string[] | undefined;
  /** The next page's cursor, for the `Link` header. */
  nextCursor?: string | null;
}
