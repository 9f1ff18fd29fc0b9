import type { Sql } from '@charter/db';
import { touchLastUsed } from '../auth/last-used.ts';
import type { Principal } from '../context.ts';
import { errorAnswer } from '../http/respond.ts';
import type { IdempotencyStore } from '../idempotency/idempotency.ts';
import type { Gatekeeper } from '../limits/gatekeeper.ts';
import type { RateDecision } from '../limits/rate-limit.ts';
import type { WorkspaceConcurrency } from '../limits/workspace-concurrency.ts';
import type { Call, Outcome } from './call.ts';
import { compose, handler, idempotencyClaim, idempotencyKey, scopes, validation, workspaceTurn } from './steps.ts';

export interface PipelineOptions {
  sql: Sql;
  gatekeeper: Gatekeeper;
  idempotency: IdempotencyStore;
  /** Caps each workspace's concurrent database work; none when absent. */
  workspaceConcurrency?: WorkspaceConcurrency | undefined;
  /** Called with every error that becomes a 500, for the server log. */
  onServerError?: (error: unknown, requestId: string) => void;
}

/** Who came in, and the rate-limit state to report whatever the answer. */
export interface Admission {
  /** Undefined when no valid key was presented. */
  principal: Principal | undefined;
  decision: RateDecision;
}

export interface Pipeline {
  /**
   * The first step, taken by a transport as soon as it has read the credentials, before it knows
   * the route: every request is counted, whatever the answer (an unknown route too). A valid key
   * is counted against its own limits; anything else against the client address.
   */
  admit(presentedKey: string | undefined, clientAddress: string, requestId: string): Promise<Admission>;
  /** The rest, in order: scopes, the Idempotency-Key's form, validation, the workspace's turn, the idempotency claim, the handler and serialisation. Never throws. */
  run(call: Call): Promise<Outcome>;
}

/**
 * The one rule pipeline every transport calls (see STYLE.md, "The shape of the server"): a
 * transport turns its request into a `Call`, the pipeline applies every rule to it, and the
 * transport writes the `Outcome` in its own format. The access log is written where the answer
 * leaves (app.ts), so that answers given before a call exists (unknown route, bad body) are logged too.
 */
export function createPipeline(options: PipelineOptions): Pipeline {
  const { sql, gatekeeper, onServerError } = options;
  const steps = compose([
    scopes,
    idempotencyKey,
    validation,
    workspaceTurn(options.workspaceConcurrency),
    idempotencyClaim(options.idempotency),
    handler(sql),
  ]);
  return {
    async admit(presentedKey, clientAddress, requestId) {
      const admitted = await gatekeeper.admitKey(presentedKey);
      if (!admitted) return { principal: undefined, decision: await gatekeeper.admitAddress(clientAddress) };
      touchLastUsed(sql, admitted.principal, (error) => onServerError?.(error, requestId));
      return admitted;
    },
    async run(call) {
      try {
        const outcome = await steps(call);
        if (outcome.status >= 500 && outcome.thrown !== undefined) onServerError?.(outcome.thrown, call.requestId);
        return outcome;
      } catch (error) {
        const outcome = errorAnswer(error, call.requestId);
        if (outcome.status >= 500) onServerError?.(error, call.requestId);
        return outcome;
      }
    },
  };
}
