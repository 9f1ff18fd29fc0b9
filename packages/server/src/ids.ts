import { randomFillSync } from 'node:crypto';
import { ID_PREFIXES, type IdKind } from '@charter/contracts';
import { monotonicFactory } from 'ulid';

const pool = Buffer.alloc(4096);
let taken = pool.length;

/**
 * A random fraction in [0, 1) from one random byte, as ulid's own generator makes it, but drawn
 * from a pool filled 4 KiB at a time: ulid asks for one byte per character, and one
 * `getRandomValues` call per byte cost a few percent of a request's CPU.
 */
export function randomFraction(): number {
  if (taken === pool.length) {
    randomFillSync(pool);
    taken = 0;
  }
  return (pool[taken++] as number) / 256;
}

// Monotonic within a millisecond, so IDs made in one process sort in creation order.
const ulid = monotonicFactory(randomFraction);

/** A new `<prefix>_<ulid>` ID, lowercase. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${ulid().toLowerCase()}`;
}
