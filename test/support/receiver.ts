import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>/hook`: a URL webhooks may use once loopback is an allowed host. */
  url: string;
  received: Received[];
  /** What the next requests are answered with (default 200 `ok`). */
  respond(status: number, body?: string): void;
  /** Resolves with the first request received since index `from` (default: the next one). */
  next(from?: number): Promise<Received>;
  close(): Promise<void>;
}

/** A real HTTP server on loopback that records every request it gets. */
export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: Array<() => void> = [];
  let answer = { status: 200, body: 'ok' };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const wake of waiters.splice(0)) wake();
      res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    respond(status, body = '') {
      answer = { status, body };
    },
    async next(from = received.length) {
      while (received.length <= from) await new Promise<void>((resolve) => waiters.push(resolve));
      return received[from] as Received;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
