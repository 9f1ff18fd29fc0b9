import { type ApiKey, Charter } from '@charter/client';

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

/** Who is signed in. `key` and `scopes` are null when the key may not list keys (no api-keys:read). */
export interface Identity {
  secret: string;
  client: Client;
  mode: 'live' | 'test';
  key: ApiKey | null;
  scopes: readonly string[] | null;
}

/**
 * The API has no "who am I" call: the console finds its own key in GET /api-keys by the secret's
 * prefix and last four characters, which is all the list shows of a secret. A key without
 * api-keys:read gets a 403 there, which still proves the key valid (a bad key gets 401 first);
 * its scopes stay unknown and each page learns from its own 403.
 */
export async function identify(secret: string): Promise<Identity> {
  const client = clientFor(secret);
  const mode = secret.startsWith('sk_test_') ? 'test' : 'live';
  try {
    for await (const key of client.paginate('/api-keys', { params: { query: { limit: 100 } } })) {
      if (secret.startsWith(key.prefix) && secret.endsWith(key.last4)) return { secret, client, mode, key, scopes: key.scopes };
    }
  } catch (error) {
    if ((error as { status?: number }).status === 403) return { secret, client, mode, key: null, scopes: null };
    throw error;
  }
  // Valid (the list answered) yet not listed: a previous secret in its rotation's grace period.
  return { secret, client, mode, key: null, scopes: null };
}
