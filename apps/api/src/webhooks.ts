import { sealingKeyFromFile, type WebhookOptions } from '@charter/server';
import type { Settings } from './config.ts';

/**
 * The server's webhook options. The sealing key is `CHARTER_SEALING_KEY` or, when unset, a key
 * file created once beside the data folder (`<CHARTER_DATA_DIR>.sealing-key`, mode 0600), which
 * every process on this machine shares. Processes on several machines sharing one PostgreSQL
 * server need the same key: set CHARTER_SEALING_KEY on each (the file's content will do).
 */
export async function webhookOptions(settings: Settings): Promise<WebhookOptions> {
  const sealingKey = settings.CHARTER_SEALING_KEY ?? (await sealingKeyFromFile(`${settings.CHARTER_DATA_DIR.replace(/\/+$/, '')}.sealing-key`));
  return { sealingKey, allowedHosts: settings.WEBHOOK_ALLOWED_HOSTS };
}
