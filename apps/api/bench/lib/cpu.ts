import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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
  if (spawnSync('taskset', ['-c', String(SERVER_CPU), 'true'], { stdio: 'ignore' }).status !== 0) return unpinned(`CPU ${SERVER_CPU} is not available`);
  // -a: every thread of this process, including libuv's pool and V8's helpers.
  const pinned = spawnSync('taskset', ['-a', '-c', '-p', String(LOAD_CPU), String(process.pid)], { stdio: 'ignore' });
  if (pinned.status !== 0) return unpinned(`taskset could not move the load generator to CPU ${LOAD_CPU}`);
  return {
    serverPrefix: ['taskset', '-c', String(SERVER_CPU)],
    description: `each server on CPU ${SERVER_CPU}, load generator on CPU ${LOAD_CPU} (taskset)`,
  };
}

let ticksPerSecond: number | undefined;

/**
 * CPU time (user + system, in ms) used so far by every live process in a process group, from
 * /proc: a target is tsx's launcher plus the node process it starts, and PGlite, when used, runs
 * inside the latter. Undefined where /proc is not available.
 */
export function processGroupCpuMs(groupId: number): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return undefined;
  }
  ticksPerSecond ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // Gone since the listing.
    }
    // Fields after the command name, which is in parentheses and may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== groupId) continue;
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1_000) / ticksPerSecond;
}
