import { randomBytes } from 'node:crypto';

/** `bytes` of lowercase letters: text in which every trigram is common, as an attacker would send. */
export function letters(bytes: number): string {
  return Array.from(randomBytes(bytes), (byte) => String.fromCharCode(97 + (byte % 26))).join('');
}
