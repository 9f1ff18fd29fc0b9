import { z } from 'zod';

/** Type prefixes of every ID the API hands out. */
export const ID_PREFIXES = {
  workspace: 'ws',
  module: 'mod',
  record: 'rec',
  apiKey: 'key',
  request: 'req',
  webhook: 'whk',
  delivery: 'dlv',
  event: 'evt',
  webhookSecret: 'whs',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

/** IDs are `<prefix>_` + a 26-character lowercase ULID: unique, and sortable by creation time. */
export function idSchema(kind: IdKind) {
  const prefix = ID_PREFIXES[kind];
  return z
    .string()
    .regex(new RegExp(`^${prefix}_[0-9a-z]{26}$`), `Must be an ID of the form ${prefix}_<26 characters>.`)
    .meta({ example: `${prefix}_01jd8x3k5q9v2m7n4p6r8t0w1y` });
}
