import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface Pinning {
  /** Prefix for a server's command line; empty when unpinned. */
  serverPrefix: readonly string[];
  /** One line for the report. */
  description: string;
}

const SERVER_CPU = 0;
const LOAD_CPU = 1;

/**
 * Puts the servers on one core and this process (the load generator) on another, so that neither
 * steals the other's CPU and the figures are per core. Falls back to unpinned, and says so, where
 * taskset is missing, there is one core, or the CPUs are not ours to pick (some containers).
 */
export function pinLoadGenerator(): Pinning {
  const unpinned = (why: string): Pinning => ({ serverPrefix: [], description: `unpinned (${why}): servers and load generator share all cores` });
  if (availableParallelism() < 2) return unpinned('fewer than 2 cores available');
  if (spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status !== 0) return unpinned('taskset not found');
  // -a: every thread of this process, including libuv's pool and V8's helpers.
  const pinned = spawnSync('taskset', ['-a', '-c', '-p', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });
  if (pinned.status !== 0) return unpinned(`taskset could not move the load generator to CPU ${LOAD_CPU}`);
  return {
    serverPrefix: ['taskset', '-c', String(SERVER_CPU)],
    description: `each server on CPU ${SERVER_CPU}, load generator on CPU ${LOAD_CPU} (taskset)`,
  };
}
