import { bootstrapWorkspace, createApp, listen } from '@charter/server';
import { loadSettings, workspaceMaxConcurrency } from './config.ts';
import { openDatabase } from './database.ts';
import { listenProblem } from './preflight.ts';
import { startWebhookWorker, webhookOptions } from './webhook-worker.ts';

async function main(): Promise<void> {
  const settings = loadSettings();
  const problem = await listenProblem(settings.HOST, settings.PORT);
  if (problem) throw new Error(`Invalid settings:\n  ${problem}`);
  const webhooks = await webhookOptions(settings);
  const database = await openDatabase(settings);
  const first = await bootstrapWorkspace(database.sql, { name: 'My workspace' });
  const app = createApp({
    sql: database.sql,
    fastSql: database.fastSql,
    maxBodyBytes: settings.MAX_BODY_BYTES,
    addressLimitPerMinute: settings.ADDRESS_RATE_LIMIT_PER_MINUTE,
    idempotencyLockSeconds: settings.IDEMPOTENCY_LOCK_SECONDS,
    retention: {
      accessLogDays: settings.ACCESS_LOG_RETENTION_DAYS,
      unauthenticatedLogDays: settings.UNAUTHENTICATED_LOG_RETENTION_DAYS,
      usageDays: settings.USAGE_RETENTION_DAYS,
      idempotencyHours: settings.IDEMPOTENCY_RETENTION_HOURS,
      counterHours: settings.RATE_LIMIT_COUNTER_RETENTION_HOURS,
      webhookDays: settings.WEBHOOK_RETENTION_DAYS,
    },
    mcp: settings.MCP_ENABLED,
    workspaceConcurrency: {
      maxActive: workspaceMaxConcurrency(settings),
      maxQueued: settings.WORKSPACE_MAX_QUEUED,
      queueTimeoutMs: settings.WORKSPACE_QUEUE_TIMEOUT_MS,
    },
    corsOrigins: settings.CORS_ORIGINS,
    webhooks,
  });
  const running = await listen(app, settings.PORT, settings.HOST);
  // After listen: a worker sending while the port turned out to be taken would be left running.
  const worker = settings.WEBHOOK_WORKER === 'on' ? await startWebhookWorker(settings, database, webhooks) : undefined;
  const where = database.kind === 'pglite' ? `embedded PostgreSQL (PGlite) in ${database.location}` : `PostgreSQL at ${database.location}`;
  console.log(`Charter API listening on ${running.url} (database: ${where})`);
  console.log(`API reference: ${running.url}/docs`);
  console.log(`Console (manage keys, watch traffic): ${running.url}/console`);
  if (first) {
    console.log(
      [
        '',
        `First start on an empty database: created workspace ${first.workspaceId} and its first API key (every scope).`,
        'The key is shown this once and stored only as a digest; keep it somewhere safe:',
        '',
        `  ${first.key}`,
        '',
        `Try it:  curl -H "Authorization: Bearer ${first.key}" ${running.url}/api/v1/modules`,
        '',
      ].join('\n'),
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal} received: finishing in-flight requests`);
    // Stops accepting, waits for in-flight requests, then flushes the buffered access log.
    // The webhook worker, meanwhile, finishes its attempts in flight and records them.
    await Promise.all([running.close(settings.SHUTDOWN_TIMEOUT_MS), worker?.stop()]);
    await database.close();
    console.log('Stopped.');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
