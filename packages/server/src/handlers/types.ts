import type { Endpoints, OperationId } from '@charter/contracts';
import type { z } from 'zod';
import type { Context, Principal } from '../context.ts';

/** A procedure's context once the contract middleware has let it through. */
export type AuthedContext = Context & { principal: Principal };

/** The function that serves one endpoint: validated input in, the contract's output out. */
export type Handler<K extends OperationId> = (
  ctx: AuthedContext,
  input: z.output<Endpoints[K]['input']>,
) => Promise<z.input<Endpoints[K]['output']>>;

export type Handlers = { [K in OperationId]: Handler<K> };
