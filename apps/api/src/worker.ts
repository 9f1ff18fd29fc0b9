import { loadSettings } from './config.ts';
import { openDatabase } from './database.ts';
import { startWebhookWorker, webhookOptions } from './webhook-worker.ts';

// `pnpm worker`: the webhook worker as its own process, beside API processes that run with
// WEBHOOK_WORKER=off (or on: any number of workers share the deliveries).
async function main(): Promise<void> {
  const settings = loadSettings();
  if (!settings.DATABASE_URL) {
    throw new Error(
      'The webhook worker runs as its own process only against a PostgreSQL server (DATABASE_URL): the embedded database admits one process, so there the API runs the worker itself (WEBHOOK_WORKER=on, the default).',
    );
  }
  const webhooks = await webhookOptions(settings);
  const database = await openDatabase(settings);
  const worker = await startWebhookWorker(settings, database, webhooks);
  console.log(`Charter webhook worker running (${worker.workerId}; PostgreSQL at ${database.location})`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal} received: finishing the deliveries in flight`);
    await worker.stop();
    await database.close();
    console.log(`Webhook worker stopped after ${worker.attempts} delivery attempts.`);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
