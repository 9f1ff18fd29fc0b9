import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const apiDir = fileURLToPath(new URL('../../apps/api/', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  output: () => string;
  /** Sends `signal` (SIGTERM by default) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `apps/api/src/worker.ts` (what `pnpm worker` runs) as its own process and waits until it runs. */
export async function startWorkerProcess(env: Record<string, string | undefined>, timeoutMs = 240_000): Promise<WorkerProcess> {
  const base = { ...process.env };
  delete base.DATABASE_URL;
  delete base.NODE_ENV;
  // `node --import tsx` makes the worker the process itself, so that a signal reaches it directly.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker.ts'], { cwd: apiDir, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`The worker did not start in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const check = () => {
      if (/webhook worker running/i.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`The worker exited with ${code} before running:\n${output}`));
    });
  });
  return {
    child,
    output: () => output,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}
