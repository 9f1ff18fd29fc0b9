import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Webhook signing secrets at rest. Unlike API keys, which are checked and so can be stored as
 * digests, a signing secret must be read back in plain to sign each delivery. It is therefore
 * sealed with AES-256-GCM under a sealing key that is not in the database (a setting, or a key
 * file beside the embedded database's folder): a copy of the database alone gives no secret.
 *
 * A sealed secret is `version (1 byte) ‖ nonce (12) ‖ tag (16) ‖ ciphertext`. The endpoint's ID is
 * the additional authenticated data: a sealed value copied to another endpoint's row does not open.
 */

export const SEALING_KEY_BYTES = 32;
const VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Seals `secret` for the endpoint `endpointId`. */
export function sealSecret(key: Buffer, endpointId: string, secret: string): Buffer {
  assertKey(key);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(endpointId, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), nonce, cipher.getAuthTag(), ciphertext]);
}

/**
 * The secret `sealSecret` sealed for `endpointId`.
 * @throws Error when the value was sealed under another key, for another endpoint, or altered.
 */
export function openSecret(key: Buffer, endpointId: string, sealed: Uint8Array): string {
  assertKey(key);
  const bytes = Buffer.from(sealed);
  if (bytes.length < 1 + NONCE_BYTES + TAG_BYTES || bytes[0] !== VERSION) throw new Error('Not a sealed webhook secret.');
  const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(1, 1 + NONCE_BYTES));
  decipher.setAAD(Buffer.from(endpointId, 'utf8'));
  decipher.setAuthTag(bytes.subarray(1 + NONCE_BYTES, 1 + NONCE_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(1 + NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new Error('A webhook secret does not open under the sealing key: the key changed (CHARTER_SEALING_KEY or its key file), or the value was altered.');
  }
}

/** A sealing key from its setting: base64 of 32 bytes. Returns an error message instead when it is not. */
export function parseSealingKey(text: string): Buffer | string {
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.length % 4 === 0 ? Buffer.from(text, 'base64') : undefined;
  return bytes?.length === SEALING_KEY_BYTES ? bytes : `must be base64 of ${SEALING_KEY_BYTES} random bytes (for example: openssl rand -base64 32)`;
}

/** A new random sealing key, as its setting would hold it. */
export function generateSealingKey(): string {
  return randomBytes(SEALING_KEY_BYTES).toString('base64');
}

/**
 * The sealing key kept in `file`, created once (mode 0600) when missing. Processes that start
 * together agree on one key: each writes its own candidate aside, and only the first hard link to
 * `file` wins; the others read the winner's.
 */
export async function sealingKeyFromFile(file: string): Promise<Buffer> {
  try {
    return await readKeyFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  await mkdir(dirname(file), { recursive: true });
  const candidate = `${file}.${process.pid}.${randomBytes(6).toString('hex')}`;
  await writeFile(candidate, `${generateSealingKey()}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(candidate, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(candidate);
  }
  return readKeyFile(file);
}

async function readKeyFile(file: string): Promise<Buffer> {
  const key = parseSealingKey((await readFile(file, 'utf8')).trim());
  if (typeof key === 'string') throw new Error(`The sealing key file ${file} is damaged: it ${key}.`);
  return key;
}

function assertKey(key: Buffer): void {
  if (key.length !== SEALING_KEY_BYTES) throw new Error(`A sealing key must be ${SEALING_KEY_BYTES} bytes.`);
}
