// setTimeout overflows above 2^31-1 ms and fires at once; longer waits are taken in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Resolves once the clock reads `at` (epoch ms) or later, never earlier, or rejects with the
 * signal's reason when it aborts first.
 */
export function sleepUntil(at: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const tick = () => {
      const left = at - Date.now();
      if (left <= 0) {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      } else {
        timer = setTimeout(tick, Math.min(left, MAX_TIMER_MS));
      }
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    tick();
  });
}

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as it aborts: a deadline
 * holds even against a fetch implementation that ignores its signal.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Resolves `true` once `promise` settles, or `false` once the clock reads `until` first; rejects with
 * the signal's reason when it aborts first. Leaves no timer behind.
 */
export async function settlesBefore(promise: Promise<unknown>, until: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) throw signal.reason;
  const stop = new AbortController();
  const forward = () => stop.abort(signal?.reason);
  signal?.addEventListener('abort', forward, { once: true });
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      sleepUntil(until, stop.signal).then(() => false),
    ]);
  } finally {
    signal?.removeEventListener('abort', forward);
    if (!stop.signal.aborted) stop.abort();
  }
}
