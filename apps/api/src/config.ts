import { fileURLToPath } from 'node:url';
import { DEFAULT_RETENTION, MIN_RETENTION } from '@charter/server';
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
  STATEMENT_TIMEOUT_MS: integer(0, 3_600_000).default(5_000),
  WORKSPACE_MAX_CONCURRENCY: integer(1, 1000).optional(),
  WORKSPACE_MAX_QUEUED: integer(0, 10_000).default(16),
  WORKSPACE_QUEUE_TIMEOUT_MS: integer(0, 600_000).default(1_000),
  // The Model Context Protocol at /api/v1/mcp, for AI agents: off unless asked for.
  MCP_ENABLED: z.enum(['true', 'false'], 'must be true or false').default('false').transform((value) => value === 'true'),
});

export type Settings = z.infer<typeof Settings>;

/**
 * Requests of one workspace that may do database work at once, by default: a quarter of the pool
 * (a list holds two connections at a time), so that one workspace leaves at least half of the
 * pool to the others.
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
