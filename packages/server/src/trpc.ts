import type { EndpointContract } from '@charter/contracts';
import { initTRPC } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import type { Context } from './context.ts';

/** Procedure meta: trpc-to-openapi's `openapi` block plus the endpoint's whole contract. */
export type Meta = OpenApiMeta<{ contract: EndpointContract }>;

/** The one tRPC instance of the server. */
export const t = initTRPC.context<Context>().meta<Meta>().create();
