import { randomBytes } from 'node:crypto';
import { SEALING_KEY_BYTES } from './secrets.ts';

/** What webhooks need from the server's settings. */
export interface WebhookOptions {
  /**
   * The 32-byte key signing secrets are sealed under (see secrets.ts). Every process that shares
   * the database must use the same one: the runnable API takes it from `CHARTER_SEALING_KEY`, or a
   * key file it creates once.
   */
  sealingKey: Buffer;
  /** Hosts that may be called over plain HTTP and on non-public addresses (tests: loopback). Default none. */
  allowedHosts?: readonly string[] | undefined;
  /** Deadline of one call (the test call's, and each delivery attempt's). Default: safe-http's. */
  timeoutMs?: number | undefined;
  /** Response bytes read and kept at most. Default: safe-http's. */
  maxResponseBytes?: number | undefined;
}

/**
 * The options a server without webhook settings runs with: a sealing key made for this process
 * alone, so secrets it seals cannot be opened after a restart or by another process. Fine for a
 * test; the runnable API always passes its own.
 */
export function ephemeralWebhookOptions(): WebhookOptions {
  return { sealingKey: randomBytes(SEALING_KEY_BYTES) };
}
