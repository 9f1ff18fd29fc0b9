/**
 * The same list call over each transport, side by side in one run: REST, tRPC one call per request,
 * tRPC in batches of 10, and an MCP tool call. Every call goes through the same rules (its own
 * admission, scopes, validation, access log), so the differences are what each wire format costs,
 * and what a batch saves in HTTP round trips. One in-process server, one enterprise key,
 * BENCH_CONCURRENCY callers (default 10), BENCH_CALLS calls per measurement (default 1000),
 * BENCH_ROUNDS rounds visiting the transports in turn (default 3); medians reported, with each
 * transport's ratio to REST. DATABASE_URL: a PostgreSQL server (unset: embedded PGlite, in memory).
 */
import { connect, migrate } from '@charter/db';
import { createApp, createWorkspace, listen } from '@charter/server';
import { median } from './lib/stats.ts';
import { formatCount, formatRatio, formatTable } from './lib/table.ts';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 10);
const CALLS = Number(process.env.BENCH_CALLS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const database = await connect({ databaseUrl: process.env.DATABASE_URL || undefined });
await migrate(database.sql);
const app = createApp({ sql: database.sql, fastSql: database.fastSql, mcp: true, logError: () => {} });
const running = await listen(app, 0);
const first = await createWorkspace(database.sql, { name: 'Transports bench' });
const issued = await fetch(`${running.url}/api/v1/api-keys`, {
  method: 'POST',
  headers: { authorization: `Bearer ${first.key}`, 'content-type': 'application/json' },
  body: JSON.stringify({ name: 'bench', scopes: ['*'], tier: 'enterprise' }),
});
const { key } = (await issued.json()) as { key: string };
const auth = { authorization: `Bearer ${key}` };
await fetch(`${running.url}/api/v1/modules`, {
  method: 'POST',
  headers: { ...auth, 'content-type': 'application/json' },
  body: JSON.stringify({ name: 'Bench', fields: [{ name: 'email', type: 'string' }] }),
});

const input = encodeURIComponent(JSON.stringify({ limit: 1 }));
const batchInput = encodeURIComponent(JSON.stringify(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [i, { limit: 1 }]))));
const batchNames = Array.from({ length: 10 }, () => 'listModules').join(',');
const mcpBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'listModules', arguments: { limit: 1 } } });

interface Transport {
  label: string;
  /** Calls one HTTP request makes. */
  calls: number;
  send(): Promise<Response>;
}

const transports: Transport[] = [
  { label: 'REST GET /api/v1/modules', calls: 1, send: () => fetch(`${running.url}/api/v1/modules?limit=1`, { headers: auth }) },
  { label: 'tRPC, one call per request', calls: 1, send: () => fetch(`${running.url}/api/trpc/listModules?input=${input}`, { headers: auth }) },
  { label: 'tRPC, batches of 10', calls: 10, send: () => fetch(`${running.url}/api/trpc/${batchNames}?batch=1&input=${batchInput}`, { headers: auth }) },
  {
    label: 'MCP tools/call',
    calls: 1,
    send: () =>
      fetch(`${running.url}/api/v1/mcp`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: mcpBody,
      }),
  },
];

/** Calls per second for CALLS calls made by CONCURRENCY callers; every answer must be a 200. */
async function measure(transport: Transport): Promise<number> {
  let remaining = Math.ceil(CALLS / transport.calls);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (remaining-- > 0) {
        const response = await transport.send();
        const text = await response.text();
        if (response.status !== 200 || text.includes('"isError":true')) throw new Error(`${transport.label}: ${response.status} ${text.slice(0, 200)}`);
      }
    }),
  );
  return (Math.ceil(CALLS / transport.calls) * transport.calls) / ((performance.now() - started) / 1000);
}

const samples = new Map(transports.map((transport) => [transport.label, [] as number[]]));
for (const transport of transports) await measure({ ...transport, calls: transport.calls * 5 }); // warm-up
for (let round = 1; round <= ROUNDS; round++) {
  for (const transport of transports) {
    const rate = await measure(transport);
    samples.get(transport.label)?.push(rate);
    console.error(`round ${round}: ${transport.label}: ${formatCount(rate)} calls/s`);
  }
}
const rest = median(samples.get(transports[0]?.label ?? '') ?? []);
console.log(
  formatTable(
    [{ title: 'transport' }, { title: 'calls/s (median)', align: 'right' }, { title: '× REST', align: 'right' }],
    transports.map((transport) => {
      const rate = median(samples.get(transport.label) ?? []);
      return [transport.label, formatCount(rate), formatRatio(rate / rest)];
    }),
  ),
);
console.log(`\n${CALLS} calls per measurement, ${CONCURRENCY} callers, ${ROUNDS} rounds, ${process.env.DATABASE_URL ? 'PostgreSQL server' : 'embedded PGlite'}.`);
await running.close(1_000);
await database.close();
