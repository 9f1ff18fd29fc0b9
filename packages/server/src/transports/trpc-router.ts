import type { Endpoints, ErrorEnvelope } from '@charter/contracts';
import type { TRPCBuiltRouter, TRPCDefaultErrorData, TRPCMutationProcedure, TRPCQueryProcedure } from '@trpc/server';
import type { TRPC_ERROR_CODE_NUMBER } from '@trpc/server/rpc';
import type { z } from 'zod';
import type { Context } from '../context.ts';
import type { Meta } from '../trpc.ts';

/**
 * The router's type alone, for `createTRPCClient<AppRouter>()` in first-party apps
 * (`import type { AppRouter } from '@charter/server/trpc'`): a file of types only, so a client
 * bundle pulls in no server code. It is written from the contracts, as the router is built from
 * them (router.ts): a GET endpoint is a query, any other a mutation, with the contract's input and
 * output. Its error shape is what the tRPC transport sends (transports/trpc.ts): `data` carries
 * the API's error envelope beside tRPC's code and the HTTP status.
 */
export type AppRouter = TRPCBuiltRouter<
  { ctx: Context; meta: Meta; errorShape: ApiErrorShape; transformer: false },
  { [OperationId in keyof Endpoints]: ServedEndpoint<Endpoints[OperationId]> }
>;

/** `error.data` of a failed call: tRPC's code and HTTP status, and the API's envelope. */
export type ApiErrorData = TRPCDefaultErrorData & ErrorEnvelope;

export interface ApiErrorShape {
  message: string;
  code: TRPC_ERROR_CODE_NUMBER;
  data: ApiErrorData;
}

type ServedEndpoint<Contract> = Contract extends { method: infer Method; input: infer Input extends z.ZodType; output: infer Output extends z.ZodType }
  ? Method extends 'GET'
    ? TRPCQueryProcedure<{ input: z.input<Input>; output: z.output<Output>; meta: Meta }>
    : TRPCMutationProcedure<{ input: z.input<Input>; output: z.output<Output>; meta: Meta }>
  : never;
