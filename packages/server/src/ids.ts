import { ID_PREFIXES, type IdKind } from '@charter/contracts';
import { monotonicFactory } from 'ulid';

// Monotonic within a millisecond, so IDs made in one process sort in creation order.
const ulid = monotonicFactory();

/** A new `<prefix>_<ulid>` ID, lowercase. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${ulid().toLowerCase()}`;
}
