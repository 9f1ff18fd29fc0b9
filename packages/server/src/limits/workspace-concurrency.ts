import { ApiError } from '../errors.ts';

export interface WorkspaceConcurrencyOptions {
  /** Requests of one workspace that may do database work at once, in this process. */
  maxActive: number;
  /** Requests of one workspace that may wait for a turn; beyond that, 503 at once. */
  maxQueued: number;
  /** Longest a request waits for its turn before it gets a 503, in milliseconds. */
  queueTimeoutMs: number;
}

/** A turn to do database work: call `release` exactly once when the work is over. */
export interface Turn {
  release(): void;
}

interface Waiter {
  grant: (turn: Turn) => void;
  timer: NodeJS.Timeout;
}

interface Lane {
  active: number;
  waiting: Waiter[];
}

/** Seconds a refused request is told to wait: one turn of a typical request is far shorter. */
const RETRY_AFTER_SECONDS = 1;

/** The 503 for a workspace over its share of database work. */
export function workspaceBusy(): ApiError {
  return new ApiError(
    'service_unavailable',
    `This workspace has too many requests in progress. Retry after ${RETRY_AFTER_SECONDS} second.`,
    { retry_after: RETRY_AFTER_SECONDS },
    { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  );
}

/**
 * Caps each workspace's concurrent database work, so that one tenant's slow requests cannot hold
 * every pooled connection while the others wait. A request beyond `maxActive` waits in its
 * workspace's queue (first come, first served) for at most `queueTimeoutMs`; one beyond
 * `maxQueued` is refused at once. Counts are per process, as is the pool they protect.
 */
export function workspaceConcurrency(options: WorkspaceConcurrencyOptions) {
  const { maxActive, maxQueued, queueTimeoutMs } = options;
  if (!Number.isInteger(maxActive) || maxActive < 1) throw new Error('workspaceConcurrency: maxActive must be a whole number of at least 1');
  if (!Number.isInteger(maxQueued) || maxQueued < 0) throw new Error('workspaceConcurrency: maxQueued must be a whole number of at least 0');
  if (!(queueTimeoutMs >= 0)) throw new Error('workspaceConcurrency: queueTimeoutMs must be at least 0');
  const lanes = new Map<string, Lane>();

  function turnOf(workspaceId: string, lane: Lane): Turn {
    let released = false;
    return {
      release() {
        if (released) return;
        released = true;
        const next = lane.waiting.shift();
        if (next) {
          // The turn passes straight to the next in line: `active` stays the same.
          clearTimeout(next.timer);
          next.grant(turnOf(workspaceId, lane));
          return;
        }
        lane.active--;
        if (lane.active === 0) lanes.delete(workspaceId);
      },
    };
  }

  return {
    /** Resolves with a turn, or with `undefined` when the workspace is over its share (answer `workspaceBusy()`). */
    acquire(workspaceId: string): Promise<Turn | undefined> {
      let lane = lanes.get(workspaceId);
      if (!lane) {
        lane = { active: 0, waiting: [] };
        lanes.set(workspaceId, lane);
      }
      if (lane.active < maxActive) {
        lane.active++;
        return Promise.resolve(turnOf(workspaceId, lane));
      }
      if (lane.waiting.length >= maxQueued) return Promise.resolve(undefined);
      const current = lane;
      return new Promise((resolve) => {
        const waiter: Waiter = {
          grant: resolve,
          timer: setTimeout(() => {
            current.waiting.splice(current.waiting.indexOf(waiter), 1);
            resolve(undefined);
          }, queueTimeoutMs),
        };
        current.waiting.push(waiter);
      });
    },
    /** Requests of the workspace now doing database work and waiting for a turn (for tests and metrics). */
    load(workspaceId: string): { active: number; queued: number } {
      const lane = lanes.get(workspaceId);
      return { active: lane?.active ?? 0, queued: lane?.waiting.length ?? 0 };
    },
  };
}

export type WorkspaceConcurrency = ReturnType<typeof workspaceConcurrency>;
