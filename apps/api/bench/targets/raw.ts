/**
 * The ceiling: plain `node:http` answering every request with the fixture's bytes, with no routing
 * and no per-request work beyond what Node itself does.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announceReady, type Fixture, readControlChannel } from '../lib/protocol.ts';

const fixture = JSON.parse(await readControlChannel(() => process.exit(0))) as Fixture;
const body = Buffer.from(fixture.bodyBase64, 'base64');
const headers = { 'Content-Type': fixture.contentType, 'Content-Length': body.length };

const server = createServer((_req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
announceReady({ url: `http://127.0.0.1:${port}` });
