import { type RateLimitReading, readRateLimit, retryAfterMs } from './headers.ts';

/**
 * What one client instance knows about its key's allowance, so that it waits for the window to reset
 * instead of spending a request on a certain 429. Kept per client: two clients (two keys) never share it.
 */
export class RateLimitGate {
  #state: RateLimitReading | undefined;

  /** Learns from a response's rate-limit headers; a 429's `Retry-After` is the server's own word on when to come back. */
  update(response: Response, now = Date.now()): void {
    const retryAfter = response.status === 429 ? retryAfterMs(response.headers, now) : undefined;
    const reading = readRateLimit(response.headers, now);
    if (retryAfter !== undefined) {
      this.#state = { remaining: 0, resetAt: now + retryAfter, limit: reading?.limit };
    } else if (reading) {
      this.#state = reading;
    }
  }

  /**
   * Milliseconds until the next request may go out (0 when it may go now), and the reading that
   * says so. Each call that returns 0 takes one request from the known allowance, so that
   * concurrent calls do not all spend the last one.
   */
  acquire(now = Date.now()): { waitMs: number; state?: RateLimitReading } {
    const state = this.#state;
    if (!state || state.resetAt <= now) {
      // The window has reset (or was never seen): nothing is known until the next response.
      this.#state = undefined;
      return { waitMs: 0 };
    }
    if (state.remaining <= 0) return { waitMs: state.resetAt - now, state };
    state.remaining--;
    return { waitMs: 0 };
  }
}
