import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { processGroupCpuMs } from './cpu.ts';
import { isReadyMessage, type ReadyMessage } from './protocol.ts';

/** The tsx of this package, so that targets run the same TypeScript sources as `pnpm start`. */
const TSX = new URL('../../node_modules/.bin/tsx', import.meta.url).pathname;
const STDERR_TAIL_LINES = 40;

/** Every target still running, including those not ready yet: an interrupt during startup must stop them too. */
const live = new Set<() => Promise<void>>();

export async function stopAllChildren(): Promise<void> {
  await Promise.all([...live].map((stop) => stop()));
}

export interface StartOptions {
  name: string;
  script: URL;
  env?: Record<string, string | undefined>;
  /** The command prefix that pins the process to a CPU, e.g. `['taskset', '-c', '0']`; empty for none. */
  pin: readonly string[];
  /** How long startup may take before the target is declared dead. */
  readyTimeoutMs: number;
  /** A first line for the control channel, for targets that need it before they can be ready. */
  input?: string;
}

export interface RunningChild {
  name: string;
  ready: ReadyMessage;
  /** CPU time used so far by the target's processes, in ms; undefined where it cannot be read. */
  cpuTimeMs(): number | undefined;
  /** Rejects as soon as the process exits, so a crash mid-run aborts the bench instead of hanging it. */
  exited: Promise<never>;
  /** Ends the process: closes its stdin, then escalates to SIGTERM and SIGKILL of its process group. */
  stop(): Promise<void>;
}

export async function startChild(options: StartOptions): Promise<RunningChild> {
  const [command, ...args] = [...options.pin, TSX, options.script.pathname];
  const child = spawn(command as string, args, {
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
    // Its own process group, so that stop() reaches tsx's inner node process too, and a Ctrl-C
    // reaches only the parent, which then stops every target in order.
    detached: true,
  });
  // A write to a target that just died fails with EPIPE; its exit is reported through `exited`.
  child.stdin!.on('error', () => {});
  if (options.input !== undefined) child.stdin!.write(`${options.input}\n`);
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderrTail.push(line);
    if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
  });
  const describeExit = (code: number | null, signal: NodeJS.Signals | null) =>
    new Error(`${options.name} exited (${signal ?? `code ${code}`})${stderrTail.length ? `:\n  ${stderrTail.join('\n  ')}` : ''}`);

  let exitedAlready = false;
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, signal) => {
      exitedAlready = true;
      live.delete(stop);
      reject(describeExit(code, signal));
    });
    // The command itself could not be started (no tsx, no taskset).
    child.once('error', (error) => {
      exitedAlready = true;
      live.delete(stop);
      reject(new Error(`${options.name} could not start: ${error.message}`));
    });
  });
  // Callers that never await `exited` must not see an unhandled rejection at shutdown.
  exited.catch(() => {});

  const stop = async (): Promise<void> => {
    if (exitedAlready) return;
    child.stdin!.end();
    if (await settlesWithin(exited, 5_000)) return;
    signalGroup(child, 'SIGTERM');
    if (await settlesWithin(exited, 3_000)) return;
    signalGroup(child, 'SIGKILL');
    await settlesWithin(exited, 2_000);
  };
  live.add(stop);

  try {
    const ready = await Promise.race([readyLine(child), exited, timeout(options.readyTimeoutMs, `${options.name} was not ready within ${options.readyTimeoutMs} ms`)]);
    return { name: options.name, ready, cpuTimeMs: () => processGroupCpuMs(child.pid!), exited, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function readyLine(child: ChildProcess): Promise<ReadyMessage> {
  return new Promise((resolve) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      try {
        const message: unknown = JSON.parse(line);
        if (isReadyMessage(message)) resolve(message);
      } catch {
        // Some other output that happens to start with a brace.
      }
    });
  });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // The group is already gone.
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return settled;
}

function timeout(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());
}
