/**
 * What a target process and the bench parent say to each other. Both sides import this file, so
 * a change to the handshake cannot drift between them.
 *
 * - parent → target (stdin): for reference targets, one JSON line holding the fixture to serve.
 *   The parent keeps stdin open for the whole run; end of stdin means "stop", which also stops a
 *   target whose parent was killed outright and could not signal it.
 * - target → parent (stdout): one JSON line with `ready: true` once it accepts requests.
 */

export interface Fixture {
  /** The response body, base64 so that the exact bytes survive the JSON line. */
  bodyBase64: string;
  contentType: string;
  /** The path (with query) the load generator requests. */
  path: string;
}

export interface ReadyMessage {
  ready: true;
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** Set by app targets: the request to measure, as the target's own data dictates it. */
  request?: { path: string; headers: Record<string, string> };
  /**
   * Set by app targets: the data every route-and-keys measurement uses, so that the peer (which
   * makes no data) serves the very same module, records and keys.
   */
  workload?: Workload;
  /** Facts about the target worth printing beside the figures (database kind, versions). */
  facts?: Record<string, string>;
}

export interface Workload {
  /** The list route, with its query. */
  listPath: string;
  /** The create route, on a module of its own so that the list does not grow during the run. */
  createPath: string;
  /** The JSON body of every create. */
  createBody: string;
  /** API keys of the workspace: the first is the hot key, all of them make the "many keys" mix. */
  keys: string[];
}

export function isReadyMessage(value: unknown): value is ReadyMessage {
  return typeof value === 'object' && value !== null && (value as ReadyMessage).ready === true && typeof (value as ReadyMessage).url === 'string';
}

/** Sends the ready line. Nothing else a target prints to stdout may start with `{"ready":true`. */
export function announceReady(message: Omit<ReadyMessage, 'ready'>): void {
  process.stdout.write(`${JSON.stringify({ ready: true, ...message })}\n`);
}

/**
 * Reads the first line of stdin, then calls `onEnd` when stdin closes. The parent holds stdin
 * open for as long as it wants the target alive.
 */
export function readControlChannel(onEnd: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let lineSeen = false;
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      if (lineSeen) return;
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline >= 0) {
        lineSeen = true;
        resolve(buffered.slice(0, newline));
      }
    });
    process.stdin.on('end', () => {
      if (!lineSeen) reject(new Error('stdin closed before the first line arrived'));
      onEnd();
    });
    process.stdin.on('error', reject);
  });
}

/** Calls `onEnd` when stdin closes, for targets that expect no input. */
export function stopWhenStdinEnds(onEnd: () => void): void {
  process.stdin.on('end', onEnd);
  // A paused stream never reports its end.
  process.stdin.resume();
}
