import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as a webhook receiver saw it. */
export interface ReceivedWebhook {
  id: string;
  timestamp: string;
  signature: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  path: string;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>`: add a path per endpoint. */
  url: string;
  received: ReceivedWebhook[];
  /** Requests received so far, per webhook-id. */
  countById(): Map<string, number>;
  close(): Promise<void>;
}

/**
 * A real webhook receiver on loopback. `answer` picks each request's status (and may hold it: it
 * may return a promise); the request is recorded before it is answered.
 */
export async function startReceiver(answer: (request: ReceivedWebhook, index: number) => number | Promise<number> = () => 204): Promise<Receiver> {
  const received: ReceivedWebhook[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry: ReceivedWebhook = {
        id: String(request.headers['webhook-id'] ?? ''),
        timestamp: String(request.headers['webhook-timestamp'] ?? ''),
        signature: String(request.headers['webhook-signature'] ?? ''),
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        path: request.url ?? '',
      };
      const index = received.push(entry) - 1;
      Promise.resolve(answer(entry, index)).then(
        (status) => response.writeHead(status, { 'content-type': 'text/plain' }).end(`answered ${status}`),
        () => response.destroy(),
      );
    });
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    countById() {
      const counts = new Map<string, number>();
      for (const { id } of received) counts.set(id, (counts.get(id) ?? 0) + 1);
      return counts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` until it returns true, failing after `timeoutMs` with `what` in the message. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
