/**
 * The router's type alone, for `createTRPCClient<AppRouter>()` in first-party apps
 * (`import type { AppRouter } from '@charter/server/trpc'`): a type-only export, so a client
 * bundle pulls in no server code.
 */
export type { AppRouter } from '../router.ts';
