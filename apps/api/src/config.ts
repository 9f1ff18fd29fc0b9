import { fileURLToPath } from 'node:url';
import { DEFAULT_RETENTION, DEFAULT_RETRY_POLICY, DEFAULT_WEBHOOK_TIMEOUT_MS, MIN_RETENTION, parseCorsOrigins, parseSealingKey } from '@charter/server';
import { z } from 'zod';

/** Where the embedded database keeps its files by default: `.data/pglite` at the repository root. */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../../.data/pglite', import.meta.url));

/** A whole number from the environment, with messages that say what is wrong in plain words. */
function integer(min: number, max: number) {
  return z
    .string()
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
}

/** Exact origins, comma-separated; the server's own parser says what is wrong with a bad one. */
const origins = z.string().transform((value, ctx) => {
  try {
    return parseCorsOrigins(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const Settings = z.object({
  PORT: integer(0, 65535).default(3000),
  HOST: z.string().min(1, 'must not be empty').default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .refine((value) => /^postgres(ql)?:\/\//.test(value), 'must be a postgres:// or postgresql:// URL')
    .optional(),
  CHARTER_DATA_DIR: z.string().min(1, 'must not be empty').default(DEFAULT_DATA_DIR),
  DATABASE_POOL_SIZE: integer(1, 100).default(10),
  MAX_BODY_BYTES: integer(1024, 64 * 1024 * 1024).default(1024 * 1024),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000).default(10_000),
  ADDRESS_RATE_LIMIT_PER_MINUTE: integer(1, 1_000_000).default(300),
  IDEMPOTENCY_LOCK_SECONDS: integer(1, 3600).default(30),
  // Retention: defaults and minimums are the server's (maintenance/retention.ts); at most ten years.
  ACCESS_LOG_RETENTION_DAYS: integer(MIN_RETENTION.accessLogDays, 3650).default(DEFAULT_RETENTION.accessLogDays),
  UNAUTHENTICATED_LOG_RETENTION_DAYS: integer(MIN_RETENTION.unauthenticatedLogDays, 3650).default(DEFAULT_RETENTION.unauthenticatedLogDays),
  USAGE_RETENTION_DAYS: integer(MIN_RETENTION.usageDays, 3650).default(DEFAULT_RETENTION.usageDays),
  IDEMPOTENCY_RETENTION_HOURS: integer(MIN_RETENTION.idempotencyHours, 87_600).default(DEFAULT_RETENTION.idempotencyHours),
  RATE_LIMIT_COUNTER_RETENTION_HOURS: integer(MIN_RETENTION.counterHours, 87_600).default(DEFAULT_RETENTION.counterHours),
  WEBHOOK_RETENTION_DAYS: integer(MIN_RETENTION.webhookDays, 3650).default(DEFAULT_RETENTION.webhookDays),
  STATEMENT_TIMEOUT_MS: integer(0, 3_600_000).default(5_000),
  WORKSPACE_MAX_CONCURRENCY: integer(1, 1000).optional(),
  WORKSPACE_MAX_QUEUED: integer(0, 10_000).default(16),
  WORKSPACE_QUEUE_TIMEOUT_MS: integer(0, 600_000).default(1_000),
  CORS_ORIGINS: origins.default([]),
  // Webhooks: signing secrets' sealing key (packages/server/src/webhooks/secrets.ts); base64 of 32 bytes.
  CHARTER_SEALING_KEY: z
    .string()
    .refine((text) => typeof parseSealingKey(text) !== 'string', 'must be base64 of 32 random bytes (for example: openssl rand -base64 32)')
    .transform((text) => parseSealingKey(text) as Buffer)
    .optional(),
  // The delivery call (safe-http.ts): hosts allowed over HTTP and on non-public addresses, comma-separated; its deadline.
  WEBHOOK_ALLOWED_HOSTS: z
    .string()
    .transform((text) => text.split(',').map((host) => host.trim()).filter((host) => host !== ''))
    .default([]),
  WEBHOOK_TIMEOUT_MS: integer(100, 300_000).default(DEFAULT_WEBHOOK_TIMEOUT_MS),
  // Delivery: the worker (packages/server/src/webhooks/worker.ts) and its schedule (schedule.ts).
  WEBHOOK_WORKER: z.enum(['on', 'off'], 'must be on or off').default('on'),
  WEBHOOK_WORKER_CONCURRENCY: integer(1, 1000).default(8),
  WEBHOOK_RETRY_DELAYS_MS: z
    .string()
    .regex(/^\d{1,10}(,\d{1,10})*$/, 'must be waits in milliseconds separated by commas, like 5000,300000')
    .transform((text) => text.split(',').map(Number))
    .default([...DEFAULT_RETRY_POLICY.delaysMs]),
  WEBHOOK_DISABLE_AFTER_FAILURES: integer(1, 1_000_000).default(DEFAULT_RETRY_POLICY.disableAfterFailures),
  // The Model Context Protocol at /api/v1/mcp, for AI agents: off unless asked for.
  MCP_ENABLED: z.enum(['true', 'false'], 'must be true or false').default('false').transform((value) => value === 'true'),
});

export type Settings = z.infer<typeof Settings>;

/**
 * Requests of one workspace that may do database work at once, by default: a quarter of the pool
 * (each request holds one connection at a time), so that one workspace leaves most of the pool to
 * the others.
 */
export function workspaceMaxConcurrency(settings: Settings): number {
  return settings.WORKSPACE_MAX_CONCURRENCY ?? Math.max(1, Math.floor(settings.DATABASE_POOL_SIZE / 4));
}

/** Reads and checks the settings; on any bad value, throws one error naming each variable and what is wrong. */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  // Empty variables count as unset, as in most shells' `VAR= command`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = Settings.safeParse(present);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0]);
    return `  ${name}=${JSON.stringify(env[name] ?? '')}: ${issue.message}`;
  });
  throw new Error(`Invalid settings:\n${lines.join('\n')}`);
}
