import { type EndpointContract, endpoints, type OperationId, scopeDeclarationProblem } from '@charter/contracts';
import { enforceContract } from './auth/enforce-contract.ts';
import * as apiKeys from './handlers/api-keys.ts';
import * as modules from './handlers/modules.ts';
import * as records from './handlers/records.ts';
import type { AuthedContext, Handlers } from './handlers/types.ts';
import * as usage from './handlers/usage.ts';
import { webhookHandlers } from './handlers/webhooks.ts';
import { t } from './trpc.ts';
import { ephemeralWebhookOptions } from './webhooks/options.ts';

/** Which function serves which endpoint. Adding an endpoint: a contract, then one line here. */
export const handlers: Handlers = {
  listModules: modules.listModules,
  createModule: modules.createModule,
  getModule: modules.getModule,
  updateModule: modules.updateModule,
  deleteModule: modules.deleteModule,
  listRecords: records.listRecords,
  createRecord: records.createRecord,
  getRecord: records.getRecord,
  updateRecord: records.updateRecord,
  deleteRecord: records.deleteRecord,
  listApiKeys: apiKeys.listApiKeys,
  createApiKey: apiKeys.createApiKey,
  getCurrentApiKey: apiKeys.getCurrentApiKey,
  getApiKey: apiKeys.getApiKey,
  updateApiKey: apiKeys.updateApiKey,
  revokeApiKey: apiKeys.revokeApiKey,
  rotateApiKey: apiKeys.rotateApiKey,
  getApiKeyUsage: usage.getApiKeyUsage,
  listAccessLogs: usage.listAccessLogs,
  // Bound to a server's webhook settings by createApp; these serve a router built without them.
  ...webhookHandlers(ephemeralWebhookOptions()),
};

export function procedureFor(operationId: string, contract: EndpointContract, handler: (ctx: AuthedContext, input: never) => Promise<unknown>) {
  const problem = scopeDeclarationProblem(contract);
  if (problem) throw new Error(`Endpoint ${operationId} ${problem}; refusing to serve it open.`);
  const procedure = t.procedure
    .meta({
      contract,
      openapi: {
        method: contract.method,
        path: contract.path as `/${string}`,
        operationId: contract.operationId,
        summary: contract.summary,
        description: contract.description,
        tags: contract.tags,
        protect: true,
        // Error responses are written by the document's post-processor from the contract.
        errorResponses: {},
      },
    })
    // Scopes are checked before input validation: a key without access learns nothing from a 422.
    .use(enforceContract)
    // Unknown parameters and body fields are refused (422), never silently ignored.
    .input(contract.input.strict())
    .output(contract.output);
  const resolve = ({ ctx, input }: { ctx: AuthedContext; input: unknown }) => handler(ctx, input as never);
  return contract.method === 'GET' ? procedure.query(resolve) : procedure.mutation(resolve);
}

/** Builds the tRPC router from every contract and its handler. */
export function buildRouter(serving: Handlers = handlers) {
  const procedures = Object.fromEntries(
    (Object.keys(endpoints) as OperationId[]).map((id) => [id, procedureFor(id, endpoints[id], serving[id] as never)]),
  ) as Record<OperationId, ReturnType<typeof procedureFor>>;
  return t.router(procedures);
}

export type AppRouter = ReturnType<typeof buildRouter>;
