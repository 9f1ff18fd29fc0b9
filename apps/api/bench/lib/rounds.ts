import { type RunningChild, stopAllChildren } from './child.ts';
import { type LoadOptions, type LoadSample, runLoad, stopLoad } from './load.ts';
import { formatCount } from './table.ts';

export interface Round extends LoadSample {
  /**
   * Server CPU per request, in µs: unlike req/s it does not depend on whether the load generator or
   * a database was the bottleneck. PGlite's work is included (same process), a PostgreSQL server's not.
   */
  serverCpuMicros?: number;
  /** Share of one core the server used during the run. */
  serverBusy?: number;
}

/** One load run against a target process, with the CPU it spent; a target that dies during it aborts the bench. */
export async function loadChild(child: RunningChild, options: LoadOptions): Promise<Round> {
  try {
    const cpuBefore = child.cpuTimeMs();
    const startedAt = performance.now();
    const sample = await Promise.race([runLoad(options), child.exited]);
    const elapsedMs = performance.now() - startedAt;
    const cpuAfter = child.cpuTimeMs();
    if (cpuBefore === undefined || cpuAfter === undefined || sample.total === 0) return sample;
    return { ...sample, serverCpuMicros: ((cpuAfter - cpuBefore) * 1_000) / sample.total, serverBusy: (cpuAfter - cpuBefore) / elapsedMs };
  } catch (error) {
    stopLoad();
    throw error;
  }
}

/** Something measured in rounds: its label in progress lines, its warm-up and its rounds. */
export interface Measured {
  label: string;
  warmup?: Round;
  rounds: Round[];
}

export interface RoundsOptions<T extends Measured> {
  warmupSeconds: number;
  rounds: number;
  durationSeconds: number;
  /** Which targets to warm up (default all): one warm-up per process and route is enough. */
  warms?: (target: T) => boolean;
  progress: (message: string) => void;
  /** One load run of `seconds` against `target`. */
  measure: (target: T, seconds: number) => Promise<Round>;
}

/**
 * A warm-up of each target, then `rounds` rounds that visit every target in turn, so that a
 * machine busier at one time than at another skews no ratio between them.
 */
export async function runRounds<T extends Measured>(targets: readonly T[], options: RoundsOptions<T>): Promise<void> {
  if (options.warmupSeconds > 0) {
    for (const target of targets.filter(options.warms ?? (() => true))) {
      options.progress(`warming up ${target.label} for ${options.warmupSeconds} s`);
      target.warmup = await options.measure(target, options.warmupSeconds);
    }
  }
  for (let round = 1; round <= options.rounds; round++) {
    for (const target of targets) {
      options.progress(`round ${round}/${options.rounds}: ${target.label} for ${options.durationSeconds} s`);
      const sample = await options.measure(target, options.durationSeconds);
      target.rounds.push(sample);
      options.progress(`  ${formatCount(sample.requestsPerSecond)} req/s`);
    }
  }
}

/** Ends the bench, whatever hangs (a target that stops answering, a stuck shutdown), once `budgetMs` is over. */
export function startWatchdog(budgetMs: number, progress: (message: string) => void): void {
  setTimeout(() => {
    progress(`did not finish within ${Math.round(budgetMs / 1_000)} s: giving up`);
    stopLoad();
    void stopAllChildren().finally(() => process.exit(1));
  }, budgetMs).unref();
}
