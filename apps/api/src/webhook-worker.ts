import { dirname, join } from 'node:path';
import type { Database } from '@charter/db';
import { createWebhookWorker, retryPolicy, sealingKeyFromFile, type WebhookOptions, type WebhookWorker } from '@charter/server';
import type { Settings } from './config.ts';

/**
 * What webhooks take from the settings. The sealing key is `CHARTER_SEALING_KEY`; without it, a
 * key file made once beside the embedded database's folder (`sealing-key`), which every process
 * of this machine shares. Processes on several machines sharing a PostgreSQL server must all be
 * given the same `CHARTER_SEALING_KEY`.
 */
export async function webhookOptions(settings: Settings): Promise<WebhookOptions> {
  const sealingKey = settings.CHARTER_SEALING_KEY ?? (await sealingKeyFromFile(join(dirname(settings.CHARTER_DATA_DIR), 'sealing-key')));
  return { sealingKey, allowedHosts: settings.WEBHOOK_ALLOWED_HOSTS, timeoutMs: settings.WEBHOOK_TIMEOUT_MS };
}

/**
 * Starts the webhook worker the settings describe, over `database`: inside the API process
 * (`WEBHOOK_WORKER=on`, the default) or as its own process (`pnpm worker`, src/worker.ts).
 */
export async function startWebhookWorker(settings: Settings, database: Database, webhooks: WebhookOptions): Promise<WebhookWorker> {
  const worker = createWebhookWorker({
    sql: database.sql,
    sealingKey: webhooks.sealingKey,
    // The embedded database admits one connection, so it cannot hold one open for LISTEN.
    listen: database.kind === 'postgres',
    http: { allowedHosts: webhooks.allowedHosts ?? [], timeoutMs: webhooks.timeoutMs, maxResponseBytes: webhooks.maxResponseBytes },
    concurrency: settings.WEBHOOK_WORKER_CONCURRENCY,
    policy: retryPolicy({ delaysMs: settings.WEBHOOK_RETRY_DELAYS_MS, disableAfterFailures: settings.WEBHOOK_DISABLE_AFTER_FAILURES }),
  });
  await worker.start();
  return worker;
}
