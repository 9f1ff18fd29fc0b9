import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateSealingKey, openSecret, parseSealingKey, sealingKeyFromFile, sealSecret } from './secrets.ts';

describe('sealed webhook secrets', () => {
  const key = parseSealingKey(generateSealingKey()) as Buffer;

  it('open with the key and the endpoint they were sealed for, and no other', () => {
    const sealed = sealSecret(key, 'whk_a', 'whsec_c2VjcmV0');
    expect(sealed.includes(Buffer.from('whsec_c2VjcmV0'))).toBe(false);
    expect(openSecret(key, 'whk_a', sealed)).toBe('whsec_c2VjcmV0');
    // A fresh nonce each time: the same secret never seals to the same bytes.
    expect(sealSecret(key, 'whk_a', 'whsec_c2VjcmV0').equals(sealed)).toBe(false);
    expect(() => openSecret(parseSealingKey(generateSealingKey()) as Buffer, 'whk_a', sealed)).toThrow(/does not open/);
    expect(() => openSecret(key, 'whk_b', sealed)).toThrow(/does not open/);
    const altered = Buffer.from(sealed);
    altered[altered.length - 1] = (altered[altered.length - 1] as number) ^ 1;
    expect(() => openSecret(key, 'whk_a', altered)).toThrow(/does not open/);
    expect(() => openSecret(key, 'whk_a', Buffer.from('short'))).toThrow(/Not a sealed/);
  });

  it('take a key of exactly 32 bytes, in base64', () => {
    expect(parseSealingKey(generateSealingKey())).toBeInstanceOf(Buffer);
    for (const bad of ['', 'abc', Buffer.alloc(16).toString('base64'), Buffer.alloc(33).toString('base64'), `${generateSealingKey()}!`]) {
      expect(typeof parseSealingKey(bad), bad).toBe('string');
    }
  });
});

describe('the sealing key file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'charter-sealing-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('is created once, readable by its owner only, and every caller starting together gets the same key', async () => {
    const file = join(dir, 'nested', 'pglite.sealing-key');
    const keys = await Promise.all(Array.from({ length: 8 }, () => sealingKeyFromFile(file)));
    for (const key of keys) expect(key.equals(keys[0] as Buffer)).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'nested'))).toEqual(['pglite.sealing-key']);
    expect((await sealingKeyFromFile(file)).equals(keys[0] as Buffer)).toBe(true);
    expect(parseSealingKey((await readFile(file, 'utf8')).trim())).toEqual(keys[0]);
  });

  it('refuses a damaged file rather than replacing the key', async () => {
    const file = join(dir, 'damaged.sealing-key');
    await writeFile(file, 'not a key\n');
    await expect(sealingKeyFromFile(file)).rejects.toThrow(/damaged/);
    expect(await readFile(file, 'utf8')).toBe('not a key\n');
  });
});
