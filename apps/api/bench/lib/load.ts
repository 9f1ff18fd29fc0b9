import autocannon, { type Instance, type Result } from 'autocannon';

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /**
   * API keys to spread the requests over, one after another (`Authorization: Bearer <key>`);
   * absent, every request carries `headers` as they are.
   */
  keys?: readonly string[];
  /** A fresh `Idempotency-Key` on every request (autocannon replaces `[<id>]` with a unique id). */
  freshIdempotencyKey?: boolean;
  connections: number;
  durationSeconds: number;
}

export interface LoadSample {
  /** Mean of the per-second request counts, as autocannon itself reports it. */
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  total: number;
  /** Responses by status code, as strings ("200", "429", …). */
  statuses: Record<string, number>;
  non2xx: number;
  /** Connection errors, timeouts included: any at all means the figure is not to be trusted. */
  errors: number;
  timeouts: number;
}

let current: Instance | undefined;

/** Runs one fixed-duration closed-loop load (each connection sends its next request when the last answer arrives). */
export function runLoad(options: LoadOptions): Promise<LoadSample> {
  return new Promise((resolve, reject) => {
    const headers = { ...options.headers, ...(options.freshIdempotencyKey ? { 'idempotency-key': '[<id>]' } : {}) };
    const keys = options.keys;
    let next = 0;
    current = autocannon(
      {
        url: options.url,
        method: options.method ?? 'GET',
        headers,
        ...(options.body === undefined ? {} : { body: options.body }),
        connections: options.connections,
        duration: options.durationSeconds,
        idReplacement: options.freshIdempotencyKey === true,
        ...(keys && keys.length > 0
          ? {
              // Round robin over the keys: with as many connections as keys, every key is always in use.
              requests: [{ setupRequest: (request) => ({ ...request, headers: { ...request.headers, authorization: `Bearer ${keys[next++ % keys.length]}` } }) }],
            }
          : {}),
      },
      (error, result) => {
        current = undefined;
        if (error) reject(error);
        else resolve(summarise(result));
      },
    );
  });
}

/** Cuts a running load short, so that Ctrl-C does not wait out the duration. */
export function stopLoad(): void {
  current?.stop();
}

function summarise(result: Result): LoadSample {
  const statuses = Object.fromEntries(Object.entries(result.statusCodeStats).map(([status, { count }]) => [status, count]));
  return {
    requestsPerSecond: result.requests.average,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    total: result.requests.total,
    statuses,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}
