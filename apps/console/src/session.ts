import { type ApiKey, Charter, type Workspace } from '@charter/client';

// sessionStorage, never localStorage: the key lives as long as the tab, and signing out removes it.
const STORAGE_KEY = 'charter.console.key';

export type Client = Charter<import('@charter/client').paths, true>;

export function storedSecret(): string | null {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function storeSecret(secret: string): void {
  sessionStorage.setItem(STORAGE_KEY, secret);
}

export function clearSecret(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

export function clientFor(secret: string): Client {
  return new Charter({
    baseUrl: `${location.origin}/api/v1`,
    apiKey: secret,
    throwOnError: true,
    // A person is waiting: one retry of what is safe to retry, and an answer within 15 s; a 429
    // whose window ends later comes back at once and says when to try again.
    maxRetries: 1,
    timeoutMs: 15_000,
  });
}

/** Who is signed in: the key (never its secret's digits beyond prefix and last four), its scopes and its workspace. */
export interface Identity {
  secret: string;
  client: Client;
  mode: 'live' | 'test';
  key: ApiKey;
  scopes: readonly string[];
  workspace: Workspace;
  /** Signed in with a previous secret in its rotation's grace period: it works until then, but cannot manage keys. */
  secretInGrace: boolean;
}

/**
 * GET /api-keys/current answers any valid key, whatever its scopes, with the key and its
 * workspace: the console then shows only what those scopes allow. A bad key gets a 401, which
 * the sign-in form shows like any other error.
 */
export async function identify(secret: string): Promise<Identity> {
  const client = clientFor(secret);
  const { data } = await client.GET('/api-keys/current');
  return { secret, client, mode: data.key.mode, key: data.key, scopes: data.key.scopes, workspace: data.workspace, secretInGrace: data.secret_in_grace };
}
