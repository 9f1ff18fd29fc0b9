import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { addressProblem, checkWebhookUrl, postWebhook, type Resolver } from './safe-http.ts';

const LOOPBACK = ['127.0.0.1', 'localhost'];
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

/** A real HTTP server on loopback; returns its port and what it received. */
async function receiver(handler: http.RequestListener) {
  const requests: Array<{ headers: http.IncomingHttpHeaders; body: string; url: string }> = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), url: request.url ?? '' });
      handler(request, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, requests };
}

/** A bare TCP listener that counts connections and never answers. */
async function tcpCounter() {
  const state = { connections: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    state.connections += 1;
    sockets.add(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, state };
}

function fixedResolver(table: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    return (table[hostname] ?? []).map((address) => ({ address, family: net.isIP(address) }));
  };
  return Object.assign(resolve, { calls });
}

describe('postWebhook', () => {
  it('posts the body and headers to an allowed loopback receiver and reports a 2xx as a success', async () => {
    const { port, requests } = await receiver((_request, response) => response.writeHead(204).end());
    const outcome = await postWebhook(`http://127.0.0.1:${port}/hook?x=1`, '{"a":1}', { 'webhook-id': 'evt_1' }, { allowedHosts: LOOPBACK });
    expect(outcome).toEqual({ success: true, status_code: 204, response_time_ms: expect.any(Number), response_body: '' });
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ body: '{"a":1}', url: '/hook?x=1' });
    expect(requests[0]?.headers).toMatchObject({ 'webhook-id': 'evt_1', 'content-type': 'application/json', 'content-length': '7' });
  });

  it('reports a non-2xx answer as a failure with its status and body', async () => {
    const { port } = await receiver((_request, response) => response.writeHead(500, { 'content-type': 'text/plain' }).end('boom'));
    const outcome = await postWebhook(`http://localhost:${port}/`, '{}', {}, { allowedHosts: LOOPBACK });
    expect(outcome).toEqual({ success: false, status_code: 500, response_time_ms: expect.any(Number), response_body: 'boom' });
  });

  it('refuses loopback when the host is not in the allowed list, without connecting', async () => {
    const { port, state } = await tcpCounter();
    for (const url of [`http://127.0.0.1:${port}/`, `https://127.0.0.1:${port}/`, `https://[::1]:${port}/`, `https://[::ffff:127.0.0.1]:${port}/`]) {
      const outcome = await postWebhook(url, '{}', {}, { timeoutMs: 5000 });
      expect(outcome.success, url).toBe(false);
      expect('error' in outcome && outcome.error, url).toMatch(/^refused: /);
    }
    // A name that resolves to loopback is refused just the same.
    const resolve = fixedResolver({ 'localhost': ['127.0.0.1'] });
    const outcome = await postWebhook(`https://localhost:${port}/`, '{}', {}, { resolve, timeoutMs: 5000 });
    expect(outcome).toEqual({ success: false, error: expect.stringMatching(/refused: localhost may not be called: 127\.0\.0\.1 is a loopback address/), response_time_ms: expect.any(Number) });
    expect(state.connections).toBe(0);
  });

  it('refuses plain http to a host not in the allowed list', async () => {
    const outcome = await postWebhook('http://example.com/hook', '{}', {});
    expect(outcome).toMatchObject({ success: false, error: 'refused: The url must use https.' });
  });

  it('refuses the cloud metadata address and link-local addresses', async () => {
    for (const url of ['https://169.254.169.254/latest/meta-data/', 'https://[fe80::1]/', 'https://[::ffff:169.254.169.254]/']) {
      const outcome = await postWebhook(url, '{}', {}, { timeoutMs: 5000 });
      expect(outcome, url).toMatchObject({ success: false, error: expect.stringMatching(/^refused: .*(metadata|link-local)/) });
    }
  });

  it('refuses a name that resolves to a private address, and never connects to it', async () => {
    const resolve = fixedResolver({ 'internal.example': ['10.1.2.3'], 'mixed.example': ['93.184.215.14', '192.168.1.10'], 'cgnat.example': ['100.64.0.9'], 'ula.example': ['fd00::1'] });
    for (const [host, reason] of [
      ['internal.example', /10\.1\.2\.3 is a private address/],
      ['mixed.example', /192\.168\.1\.10 is a private address/],
      ['cgnat.example', /carrier-grade NAT/],
      ['ula.example', /unique local/],
    ] as const) {
      const outcome = await postWebhook(`https://${host}/hook`, '{}', {}, { resolve, timeoutMs: 5000 });
      expect(outcome, host).toMatchObject({ success: false, error: expect.stringMatching(reason) });
    }
    // A rebinding name pointed at a listener here: refused before any connection is made.
    const { port, state } = await tcpCounter();
    const rebinding = fixedResolver({ 'rebind.example': ['127.0.0.1'] });
    const outcome = await postWebhook(`https://rebind.example:${port}/`, '{}', {}, { resolve: rebinding, timeoutMs: 5000 });
    expect(outcome).toMatchObject({ success: false, error: expect.stringMatching(/^refused: rebind\.example may not be called/) });
    expect(state.connections).toBe(0);
  });

  it('resolves a name once and connects to the address it checked, keeping the Host header', async () => {
    const { port, requests } = await receiver((_request, response) => response.writeHead(200).end('ok'));
    // `.test` names never resolve through DNS: a delivery that arrives was sent to the checked address.
    const resolve = fixedResolver({ 'hooks.charter.test': ['127.0.0.1'] });
    const outcome = await postWebhook(`http://hooks.charter.test:${port}/in`, '{}', {}, { resolve, allowedHosts: ['hooks.charter.test'] });
    expect(outcome).toMatchObject({ success: true, status_code: 200, response_body: 'ok' });
    expect(resolve.calls).toEqual(['hooks.charter.test']);
    expect(requests[0]?.headers.host).toBe(`hooks.charter.test:${port}`);
  });

  it('over HTTPS, connects to the checked address, names the URL host in SNI and verifies the certificate', async () => {
    // A self-signed certificate for the name, made for this test: the call must reach this server
    // through the injected resolution, say the name in its TLS hello, and then refuse the certificate.
    const dir = mkdtempSync(join(tmpdir(), 'charter-tls-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=hooks.charter.test'], { stdio: 'ignore' });
    const credentials = { key: readFileSync(keyFile), cert: readFileSync(certFile) };
    const names: string[] = [];
    let requests = 0;
    const server = https.createServer(
      {
        ...credentials,
        SNICallback: (name, callback) => {
          names.push(name);
          callback(null, tls.createSecureContext(credentials));
        },
      },
      (_request, response) => {
        requests += 1;
        response.end();
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as net.AddressInfo).port;
    const resolve = fixedResolver({ 'hooks.charter.test': ['127.0.0.1'] });
    const outcome = await postWebhook(`https://hooks.charter.test:${port}/in`, '{}', {}, { resolve, allowedHosts: ['hooks.charter.test'] });
    expect(outcome).toMatchObject({ success: false, error: expect.stringMatching(/^connection: .*self[- ]signed certificate/i) });
    expect(names).toEqual(['hooks.charter.test']);
    expect(requests).toBe(0);
  });

  it('does not follow redirects: a 3xx is a failure with its status', async () => {
    const target = await receiver((_request, response) => response.writeHead(200).end());
    const { port } = await receiver((_request, response) => response.writeHead(302, { location: `http://127.0.0.1:${target.port}/` }).end());
    const outcome = await postWebhook(`http://127.0.0.1:${port}/`, '{}', {}, { allowedHosts: LOOPBACK });
    expect(outcome).toMatchObject({ success: false, status_code: 302 });
    expect(target.requests).toHaveLength(0);
  });

  it('reads a 50 MB answer only up to the cap, then drops the connection', async () => {
    const total = 50 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const sent = { bytes: 0, closed: false };
    const { port } = await receiver((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(total) });
      response.on('close', () => {
        sent.closed = true;
      });
      // Writes as fast as the reader takes it, until all is sent or the reader hangs up.
      const pump = () => {
        while (sent.bytes < total && !response.destroyed) {
          sent.bytes += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        if (!response.destroyed) response.end();
      };
      pump();
    });
    const outcome = await postWebhook(`http://127.0.0.1:${port}/`, '{}', {}, { allowedHosts: LOOPBACK, maxResponseBytes: 1000 });
    expect(outcome).toMatchObject({ success: true, status_code: 200 });
    expect('response_body' in outcome && outcome.response_body).toBe('x'.repeat(1000));
    const deadline = Date.now() + 10_000;
    while (!sent.closed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(sent.closed).toBe(true);
    // What socket buffers took before the hang-up, at most a few megabytes: far from all of it.
    expect(sent.bytes).toBeLessThan(total / 4);
  });

  it('keeps the truncated body whole in its characters', async () => {
    const { port } = await receiver((_request, response) => response.writeHead(400).end('é'.repeat(100)));
    const outcome = await postWebhook(`http://127.0.0.1:${port}/`, '{}', {}, { allowedHosts: LOOPBACK, maxResponseBytes: 11 });
    expect(outcome).toMatchObject({ success: false, status_code: 400, response_body: 'é'.repeat(5) });
  });

  it('gives up at the deadline when the receiver never answers', async () => {
    const { port, state } = await tcpCounter();
    const outcome = await postWebhook(`http://127.0.0.1:${port}/`, '{}', {}, { allowedHosts: LOOPBACK, timeoutMs: 300 });
    expect(outcome).toEqual({ success: false, error: 'timeout: no answer within 300 ms', response_time_ms: expect.any(Number) });
    expect(state.connections).toBe(1);
  });

  it('keeps the status of a receiver that answers and then stalls its body past the deadline', async () => {
    const { port } = await receiver((_request, response) => {
      response.writeHead(200, { 'content-length': '100' });
      response.write('partial');
    });
    const outcome = await postWebhook(`http://127.0.0.1:${port}/`, '{}', {}, { allowedHosts: LOOPBACK, timeoutMs: 2000 });
    expect(outcome).toMatchObject({ success: true, status_code: 200, response_body: 'partial' });
  });

  it('reports a refused connection and a malformed URL as values, never as exceptions', async () => {
    const { port } = await tcpCounter();
    await closers.pop()?.();
    const refused = await postWebhook(`http://127.0.0.1:${port}/`, '{}', {}, { allowedHosts: LOOPBACK });
    expect(refused).toMatchObject({ success: false, error: expect.stringMatching(/^connection: .*ECONNREFUSED/) });
    const malformed = await postWebhook('not a url', '{}', {});
    expect(malformed).toMatchObject({ success: false, error: 'refused: the url is not an absolute URL' });
  });
});

describe('checkWebhookUrl', () => {
  it('accepts public https URLs, and http for allowed hosts', () => {
    expect(checkWebhookUrl('https://example.com/webhooks')).toBeUndefined();
    expect(checkWebhookUrl('https://93.184.215.14:8443/in')).toBeUndefined();
    expect(checkWebhookUrl('http://127.0.0.1:8080/in', LOOPBACK)).toBeUndefined();
    expect(checkWebhookUrl('http://LOCALHOST:8080/in', LOOPBACK)).toBeUndefined();
  });

  it('refuses what can never be delivered to, with a clear message', () => {
    expect(checkWebhookUrl('/relative')).toMatch(/absolute URL/);
    expect(checkWebhookUrl('ftp://example.com/')).toMatch(/must use https/);
    expect(checkWebhookUrl('http://example.com/')).toMatch(/must use https/);
    expect(checkWebhookUrl('https://user:pass@example.com/')).toMatch(/user name or password/);
    expect(checkWebhookUrl('https://127.0.0.1/')).toMatch(/loopback/);
    expect(checkWebhookUrl('https://[::1]/')).toMatch(/loopback/);
    expect(checkWebhookUrl('https://169.254.169.254/')).toMatch(/metadata/);
    expect(checkWebhookUrl('https://10.0.0.8/')).toMatch(/private/);
    expect(checkWebhookUrl('https://0.0.0.0/')).toMatch(/unspecified/);
    expect(checkWebhookUrl('https://224.0.0.1/')).toMatch(/multicast/);
    expect(checkWebhookUrl('https://[::ffff:10.0.0.8]/')).toMatch(/private/);
    // WHATWG URL parsing turns these spellings into 127.0.0.1 and 10.0.0.8 before the check.
    expect(checkWebhookUrl('https://2130706433/')).toMatch(/loopback/);
    expect(checkWebhookUrl('https://0x0a.0.0.8/')).toMatch(/private/);
  });
});

describe('addressProblem', () => {
  it('passes public unicast addresses and names every other kind', () => {
    expect(addressProblem('93.184.215.14')).toBeUndefined();
    expect(addressProblem('2606:2800:21f:cb07:6820:80da:af6b:8b2c')).toBeUndefined();
    expect(addressProblem('172.16.5.4')).toMatch(/private/);
    expect(addressProblem('192.168.0.1')).toMatch(/private/);
    expect(addressProblem('100.127.255.254')).toMatch(/carrier-grade NAT/);
    expect(addressProblem('fc00::1')).toMatch(/unique local/);
    expect(addressProblem('fe80::abcd')).toMatch(/link-local/);
    expect(addressProblem('::')).toMatch(/unspecified/);
    expect(addressProblem('ff02::1')).toMatch(/multicast/);
    expect(addressProblem('::ffff:192.168.0.1')).toMatch(/192\.168\.0\.1 is a private/);
    expect(addressProblem('64:ff9b::a00:1')).toMatch(/special-purpose/);
    expect(addressProblem('nonsense')).toMatch(/not an IP address/);
  });
});
