import type { AppRouter } from '@charter/server/trpc';
import { createTRPCClient, httpBatchLink } from '@trpc/client';

/** A first-party app's tRPC client, as the README shows it: what the bundle test builds for a browser. */
export function charterTrpc(baseUrl: string, apiKey: string) {
  return createTRPCClient<AppRouter>({
    links: [httpBatchLink({ url: `${baseUrl}/api/trpc`, headers: () => ({ authorization: `Bearer ${apiKey}` }) })],
  });
}
