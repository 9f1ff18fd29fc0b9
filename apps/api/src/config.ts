import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Where the embedded database keeps its files by default: `.data/pglite` at the repository root. */
export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../../.data/pglite', import.meta.url));

const port = z.coerce
  .number({ error: 'must be a number' })
  .int('must be a whole number')
  .min(0, 'must be between 0 and 65535')
  .max(65535, 'must be between 0 and 65535');

const Settings = z.object({
  PORT: port.default(3000),
  HOST: z.string().min(1, 'must not be empty').default('127.0.0.1'),
  DATABASE_URL: z
    .string()
    .refine((value) => /^postgres(ql)?:\/\//.test(value), 'must be a postgres:// or postgresql:// URL')
    .optional(),
  CHARTER_DATA_DIR: z.string().min(1, 'must not be empty').default(DEFAULT_DATA_DIR),
  DATABASE_POOL_SIZE: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1).max(100).default(10),
  MAX_BODY_BYTES: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(0).max(600_000).default(10_000),
});

export type Settings = z.infer<typeof Settings>;

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
