import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_BASE_PATH, type EndpointContract, MAX_JSON_DEPTH, scopeGrants, servesAnyKey } from '@charter/contracts';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, type CallToolResult, ListToolsRequestSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { AnyTRPCRouter } from '@trpc/server';
import { z } from 'zod';
import { presentedKey } from '../auth/api-key.ts';
import { unauthorized } from '../auth/enforce-contract.ts';
import type { Principal } from '../context.ts';
import { ApiError } from '../errors.ts';
import { exceedsDepth, isJsonMediaType, readBody } from '../http/read-body.ts';
import { errorAnswer, sendError } from '../http/respond.ts';
import type { RequestState } from '../http/rest.ts';
import { fingerprint } from '../idempotency/idempotency.ts';
import { type RateDecision, rateLimitExceeded, rateLimitHeaders } from '../limits/rate-limit.ts';
import type { RequestLog } from '../logs/access-log.ts';
import type { Outcome, ServedProcedure } from '../pipeline/call.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';

/** Where the Model Context Protocol is served, when enabled. */
export const MCP_PATH = `${API_BASE_PATH}/mcp`;

export interface McpHandlerOptions {
  router: AnyTRPCRouter;
  pipeline: Pipeline;
  requestLog: RequestLog;
  maxBodyBytes: number;
}

interface ServedTool {
  tool: Tool;
  contract: EndpointContract;
  procedure: ServedProcedure;
}

/** One MCP tool per endpoint, from its contract alone: name, description, input schema and hints. */
export function toolsFromRouter(router: AnyTRPCRouter): ServedTool[] {
  const procedures = (router._def as unknown as { procedures: Record<string, ServedProcedure> }).procedures;
  return Object.values(procedures).map((procedure) => {
    const { contract } = procedure._def.meta as { contract: EndpointContract };
    const reads = contract.method === 'GET';
    const inputSchema = z.toJSONSchema(contract.input.strict(), { io: 'input', unrepresentable: 'any' }) as Tool['inputSchema'];
    delete (inputSchema as { $schema?: unknown }).$schema;
    const tool: Tool = {
      name: contract.operationId,
      title: contract.summary,
      description: contract.description,
      inputSchema,
      annotations: reads
        ? { readOnlyHint: true, openWorldHint: false }
        : {
            readOnlyHint: false,
            destructiveHint: contract.method === 'DELETE',
            // The same arguments again change nothing more, except a create (POST), which makes another object.
            idempotentHint: contract.method !== 'POST',
            openWorldHint: false,
          },
    };
    return { tool, contract, procedure };
  });
}

/** Whether the key could call the endpoint at all: for one-object scopes, on the object its scope names. */
function mayCall(principal: Principal, contract: EndpointContract): boolean {
  if (servesAnyKey(contract)) return true;
  // Never true for an empty list otherwise: a contract without scopes and without the flag is not a tool anyone may call.
  return contract.scopes.length > 0 && contract.scopes.every((need) =>
    principal.scopes.some((have) => scopeGrants(have, need) || (contract.scopeTarget !== undefined && scopeGrants(have, need, have.split(':')[2]))),
  );
}

/**
 * The MCP transport (Streamable HTTP, stateless: a fresh server per request, JSON answers): a thin
 * adapter over the rule pipeline. The HTTP request is admitted like any other (the API key in the
 * same headers, one rate-limit count); `tools/list` shows the tools the key's scopes allow; a
 * `tools/call` goes through the pipeline as its endpoint's call, and an error comes back as a tool
 * error (`isError`) whose text is the API's error envelope. A refused admission on a `tools/call`
 * is such a tool error too (429); on any other message it is the HTTP 429. An `Idempotency-Key`
 * header applies to the tool call its request carries.
 */
export function createMcpHandler(options: McpHandlerOptions) {
  const { pipeline, requestLog, maxBodyBytes } = options;
  const served = toolsFromRouter(options.router);
  const byName = new Map(served.map((entry) => [entry.tool.name, entry]));

  return async function handleMcp(req: IncomingMessage, res: ServerResponse, state: RequestState): Promise<void> {
    const { requestId } = state;
    const started = performance.now();
    // One entry per request, as for REST; a tool call is logged as `/api/v1/mcp/<tool>` with its own
    // status (a tool error travels in an HTTP 200), so usage counts its errors too.
    const logged: { path: string; status?: number } = { path: MCP_PATH };
    res.once('finish', () => {
      requestLog.record({
        workspaceId: state.principal?.workspaceId ?? null,
        keyId: state.principal?.keyId ?? null,
        method: req.method ?? 'POST',
        path: logged.path,
        status: logged.status ?? res.statusCode,
        latencyMs: performance.now() - started,
        requestId,
        clientAddress: state.clientAddress,
        at: new Date(),
      });
    });
    const presented = presentedKey(req.headersDistinct);
    const { principal, decision } = await pipeline.admit(presented, state.clientAddress ?? 'unknown', requestId);
    if (principal) state.principal = principal;
    res.setHeader('X-Request-ID', requestId);
    for (const [name, value] of Object.entries(rateLimitHeaders(decision))) res.setHeader(name, value);
    if (!principal) return void sendError(res, requestId, decision.admitted ? unauthorized() : rateLimitExceeded(decision));
    // Stateless: no session to open a stream on (GET) or to end (DELETE).
    if (req.method !== 'POST') {
      return void sendError(res, requestId, new ApiError('method_not_allowed', `${req.method} is not allowed on ${MCP_PATH}.`), { Allow: 'POST' });
    }
    let message: unknown;
    try {
      message = await readMessage(req, maxBodyBytes);
    } catch (error) {
      return void sendError(res, requestId, error);
    }
    // One message per request: a JSON-RPC batch would run several tool calls on one admission.
    if (Array.isArray(message)) {
      return void sendError(res, requestId, new ApiError('bad_request', 'Send one JSON-RPC message per request, not a batch.'));
    }
    const isToolCall = (message as { method?: unknown } | null)?.method === 'tools/call';
    if (!decision.admitted && !isToolCall) return void sendError(res, requestId, rateLimitExceeded(decision));

    const server = new Server({ name: 'charter', version: '0.1.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: served.filter((entry) => mayCall(principal, entry.contract)).map((entry) => entry.tool) }));
    server.setRequestHandler(CallToolRequestSchema, async (request): Promise<CallToolResult> => {
      const name = request.params.name;
      const args = request.params.arguments ?? {};
      const outcome = await callTool(name, args, principal, decision);
      logged.path = `${MCP_PATH}/${name.slice(0, 100)}`;
      logged.status = outcome.status;
      if (outcome.headers['Idempotent-Replayed'] && !res.headersSent) res.setHeader('Idempotent-Replayed', 'true');
      const text = outcome.body ?? '';
      return outcome.status >= 400 ? { isError: true, content: [{ type: 'text', text }] } : { content: [{ type: 'text', text }] };
    });

    async function callTool(name: string, args: Record<string, unknown>, caller: Principal, admission: RateDecision): Promise<Outcome> {
      if (!admission.admitted) return errorAnswer(rateLimitExceeded(admission), requestId);
      const entry = byName.get(name);
      if (!entry) return errorAnswer(new ApiError('not_found', `No tool is named "${name}".`), requestId);
      const { contract, procedure } = entry;
      return pipeline.run({
        contract,
        procedure,
        principal: caller,
        rawInput: args,
        requestId,
        idempotency: contract.idempotent
          ? {
              values: req.headersDistinct['idempotency-key'],
              fingerprint: () => fingerprint('POST', new URL(`${MCP_PATH}/${name}`, 'http://mcp'), args),
              sealWith: contract.returnsSecret ? presented : undefined,
            }
          : undefined,
      });
    }

    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, message);
  };
}

/** The JSON-RPC message of the body, read with the REST edge's bounds (size, media type, depth). */
async function readMessage(req: IncomingMessage, maxBodyBytes: number): Promise<unknown> {
  const body = await readBody(req, maxBodyBytes);
  if (!isJsonMediaType(req.headers['content-type'])) {
    throw new ApiError('unsupported_media_type', 'An MCP message must be application/json.');
  }
  const text = body.toString('utf8');
  if (exceedsDepth(text, MAX_JSON_DEPTH)) {
    throw new ApiError('bad_request', `The message is nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays.`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError('bad_request', 'The message is not valid JSON.');
  }
}
