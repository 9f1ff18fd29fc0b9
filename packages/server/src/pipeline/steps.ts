import type { Queryable, Sql } from '@charter/db';
import { authorize } from '../auth/enforce-contract.ts';
import type { Context } from '../context.ts';
import { validationFailed, zodIssuesToFieldErrors } from '../errors.ts';
import { errorAnswer } from '../http/respond.ts';
import { type IdempotencyStore, idempotencyErrors, parseIdempotencyKey } from '../idempotency/idempotency.ts';
import { type WorkspaceConcurrency, workspaceBusy } from '../limits/workspace-concurrency.ts';
import type { Call, Outcome, Step } from './call.ts';

/** The contract's scopes, for the object its input names: before validation, so that a key without access learns nothing from a 422. */
export const scopes: Step = async function scopes(call, next) {
  authorize(call.contract, call.principal, call.rawInput);
  return next();
};

/** A malformed Idempotency-Key is a 400, never silently ignored: checked before the input, as the header is. */
export const idempotencyKey: Step = async function idempotencyKey(call, next) {
  if (call.idempotency) call.idempotencyKey = parseIdempotencyKey(call.idempotency.values);
  return next();
};

/** The procedure's own input schema: 422 with every field's error. Before any claim, so a refused call stores nothing. */
export const validation: Step = async function validation(call, next) {
  const [schema] = call.procedure._def.inputs;
  if (schema) {
    const result = schema.safeParse(call.rawInput);
    if (!result.success) throw validationFailed(zodIssuesToFieldErrors(result.error.issues));
    call.input = result.data;
  } else {
    call.input = call.rawInput;
  }
  return next();
};

/** Each workspace's share of database work in this process: the rest of the call runs within one turn. */
export function workspaceTurn(concurrency: WorkspaceConcurrency | undefined): Step {
  if (!concurrency) return (_call, next) => next();
  return async function workspaceTurn(call, next) {
    const turn = await concurrency.acquire((call.principal as NonNullable<Call['principal']>).workspaceId);
    if (!turn) throw workspaceBusy();
    try {
      return await next();
    } finally {
      turn.release();
    }
  };
}

/**
 * A call with an Idempotency-Key runs once: the rest of the pipeline runs inside the transaction
 * that stores its reply, and a repeat gets that reply with `Idempotent-Replayed: true`.
 */
export function idempotencyClaim(store: IdempotencyStore): Step {
  return async function idempotencyClaim(call, next) {
    const request = call.idempotency;
    if (!request || call.idempotencyKey === undefined || !call.principal) return next();
    const target = { keyId: call.principal.keyId, idempotencyKey: call.idempotencyKey, fingerprint: request.fingerprint(), sealWith: request.sealWith };
    const once = await store.runOnce(target, call.requestId, async (tx: Queryable) => {
      call.sql = tx;
      try {
        return await next();
      } catch (error) {
        // An error is a reply too: a 4xx is stored and replayed; the store undoes its effect.
        return { ...errorAnswer(error, call.requestId), thrown: error };
      }
    });
    switch (once.kind) {
      case 'ran':
        return once.reply;
      case 'replay':
        return { status: once.status, body: once.status === 204 ? undefined : once.body, headers: { ...once.headers, 'Idempotent-Replayed': 'true' } };
      default:
        throw idempotencyErrors(once.kind);
    }
  };
}

/**
 * The handler, called directly with the validated input, then its result checked against the
 * procedure's output schema and serialised once (a sparse fieldset is projected on the objects,
 * never by re-parsing JSON).
 */
export function handler(pool: Sql): Step {
  return async function handler(call): Promise<Outcome> {
    const { procedure, contract } = call;
    const ctx: Context = { sql: call.sql ?? pool, requestId: call.requestId, principal: call.principal, listing: {} };
    const resolver = procedure._def.resolver;
    if (!resolver) throw new Error(`${contract.operationId} has no resolver`);
    let result = await resolver({ ctx, input: call.input });
    const output = procedure._def.output;
    if (output) {
      const checked = output.safeParse(result);
      if (!checked.success) throw new Error(`${contract.operationId} returned output its contract refuses`, { cause: checked.error });
      result = checked.data;
    }
    if (contract.successStatus === 204) return { status: 204, body: undefined, headers: {} };
    const fields = ctx.listing.fields;
    if (fields) project(result as { data: Record<string, unknown>[] }, fields);
    return { status: contract.successStatus, body: JSON.stringify(result), headers: {}, nextCursor: ctx.listing.nextCursor };
  };
}

/** Sparse fieldsets: keeps only the requested fields of each item of a list, in the order asked. */
function project(list: { data: Record<string, unknown>[] }, fields: readonly string[]): void {
  list.data = list.data.map((item) => {
    const kept: Record<string, unknown> = {};
    for (const field of fields) if (field in item) kept[field] = item[field];
    return kept;
  });
}

/** Runs steps in order, each handing on to the next; the last one must answer. */
export function compose(steps: readonly Step[]): (call: Call) => Promise<Outcome> {
  return (call) => {
    const dispatch = (index: number): Promise<Outcome> => {
      const step = steps[index];
      if (!step) throw new Error('the pipeline ended without an answer');
      return step(call, () => dispatch(index + 1));
    };
    return dispatch(0);
  };
}
