import { type RateLimitReading, readRateLimit, retryAfterMs } from './headers.ts';

/**
 * The operations the API's document marks `security: []`: the server limits them per client
 * address, never against a key, so the key's allowance neither holds them nor learns from them.
 */
export const PUBLIC_PATHS = ['/health', '/openapi.json', '/openapi-3.0.json'] as const;

/** A request the gate let through; hand it back to {@link RateLimitGate.settle} once the attempt ends. */
export interface RateLimitTicket {
  /** Sent while the allowance was unknown, to learn it: the other calls wait for its answer. */
  readonly probe: boolean;
}

/** What {@link RateLimitGate.acquire} decides for one request. */
export type Admission =
  | { ticket: RateLimitTicket }
  /** The allowance is spent: wait until `until` (epoch ms), then ask again. */
  | { ticket?: undefined; until: number; state: RateLimitReading }
  /** Another request is out to learn the allowance: wait until `changed` resolves, then ask again. */
  | { ticket?: undefined; until?: undefined; changed: Promise<void> };

// X-RateLimit-Reset has whole seconds and the IETF `t` is relative to each response: readings less
// than this far apart describe the same window.
const SAME_WINDOW_MS = 1500;

/**
 * What one client instance knows about its key's allowance, so that it waits for the window to reset
 * instead of spending a request on a certain 429. Kept per client: two clients (two keys) never share it.
 *
 * While the allowance is unknown (the first call, or a window that has just reset), one request goes
 * out and the others wait for its answer; then exactly as many go as it says remain, and the rest wait
 * for the next window. Requests still in flight count against every reading, since the server may not
 * have counted them yet.
 */
export class RateLimitGate {
  #state: RateLimitReading | undefined;
  #probing = false;
  #inFlight = 0;
  #wake: (() => void) | undefined;
  #changed: Promise<void> | undefined;

  /** Whether this gate's limit applies to `request`: it carries a key and is not one of the {@link PUBLIC_PATHS}. */
  static applies(request: Request): boolean {
    if (!request.headers.has('authorization') && !request.headers.has('x-api-key')) return false;
    const path = new URL(request.url).pathname.replace(/\/+$/, '');
    return !PUBLIC_PATHS.some((publicPath) => path.endsWith(publicPath));
  }

  /** Lets a request go (and counts it), or says what to wait for. */
  acquire(now = Date.now()): Admission {
    const state = this.#state;
    if (state && state.resetAt <= now) this.#state = undefined; // the window has reset: nothing is known until the next answer
    if (!this.#state) {
      if (this.#probing) return { changed: this.#nextChange() };
      this.#probing = true;
      return this.#admit(true);
    }
    if (this.#state.remaining <= 0) return { until: this.#state.resetAt, state: this.#state };
    this.#state.remaining--;
    return this.#admit(false);
  }

  /** Ends an attempt the gate let through, learning from its response (undefined when it got none). */
  settle(ticket: RateLimitTicket, response: Response | undefined, now = Date.now()): void {
    this.#inFlight--;
    if (ticket.probe) this.#probing = false;
    if (response) this.update(response, now);
    const wake = this.#wake;
    this.#wake = undefined;
    this.#changed = undefined;
    wake?.();
  }

  /** Learns from a response's rate-limit headers; a 429's `Retry-After` is the server's own word on when to come back. */
  update(response: Response, now = Date.now()): void {
    const retryAfter = response.status === 429 ? retryAfterMs(response.headers, now) : undefined;
    const reading = readRateLimit(response.headers, now);
    if (retryAfter !== undefined) {
      this.#state = { remaining: 0, resetAt: now + retryAfter, limit: reading?.limit };
      return;
    }
    if (!reading) return;
    const fresh = { ...reading, remaining: Math.max(0, reading.remaining - this.#inFlight) };
    const state = this.#state;
    if (!state || state.resetAt <= now || reading.resetAt - state.resetAt >= SAME_WINDOW_MS) {
      this.#state = fresh;
    } else if (Math.abs(reading.resetAt - state.resetAt) < SAME_WINDOW_MS) {
      // Both are upper bounds of what is left: the local count knows what was sent since, the
      // reading knows what other clients of the key spent.
      state.remaining = Math.min(state.remaining, fresh.remaining);
    } // else: an answer from an earlier window, arriving late, says nothing about this one.
  }

  #admit(probe: boolean): Admission {
    this.#inFlight++;
    return { ticket: { probe } };
  }

  #nextChange(): Promise<void> {
    this.#changed ??= new Promise((resolve) => {
      this.#wake = resolve;
    });
    return this.#changed;
  }
}
