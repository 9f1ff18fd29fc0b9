import autocannon, { type Instance, type Result } from 'autocannon';

export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
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
    current = autocannon(
      {
        url: options.url,
        method: 'GET',
        headers: options.headers,
        connections: options.connections,
        duration: options.durationSeconds,
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
