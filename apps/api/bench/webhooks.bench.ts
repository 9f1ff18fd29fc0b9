/**
 * Webhook delivery throughput: one worker sending N events to a receiver on loopback, at several
 * concurrencies, side by side in one run. With DATABASE_URL it makes and drops a database of its
 * own on that PostgreSQL server; without, it runs on an embedded in-memory database.
 *
 *   [DATABASE_URL=postgres://…] npx tsx bench/webhooks.bench.ts [events per run, default 2000]
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Database, migrate } from '@charter/db';
import { createWebhookWorker, createWorkspace, generateWebhookSecret, retryPolicy, sealSecret } from '@charter/server';

const events = Number(process.argv[2] ?? 2_000);
const concurrencies = [1, 8, 32];
const serverUrl = process.env.DATABASE_URL;
const name = `charter_webhooks_bench_${randomBytes(4).toString('hex')}`;

let admin: Database | undefined;
let db: Database;
if (serverUrl) {
  admin = await connect({ databaseUrl: serverUrl, max: 1, fastPool: false });
  await admin.sql.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  db = await connect({ databaseUrl: url.toString(), max: 10, fastPool: false });
} else {
  db = await connect({});
}

let received = 0;
const receiver = http.createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    received += 1;
    response.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/bench`;

try {
  await migrate(db.sql);
  const sealingKey = randomBytes(32);
  const { workspaceId } = await createWorkspace(db.sql, { name: 'Webhooks bench' });
  const rows: string[] = [];
  for (const concurrency of concurrencies) {
    const endpointId = `whk_bench_${concurrency}`;
    await db.sql`insert into webhook_endpoints (id, workspace_id, url, events) values (${endpointId}, ${workspaceId}, ${target}, ${['*']})`;
    await db.sql`insert into webhook_secrets (id, endpoint_id, sealed) values (${`whs_bench_${concurrency}`}, ${endpointId}, ${sealSecret(sealingKey, endpointId, generateWebhookSecret())})`;
    const suffixes = Array.from({ length: events }, (_, index) => `${concurrency}_${index}`);
    await db.sql`
      insert into webhook_events (id, workspace_id, type, data)
      select 'evt_' || suffix, ${workspaceId}, 'record.created', jsonb_build_object('id', 'rec_' || suffix, 'data', jsonb_build_object('name', 'Ada'))
      from unnest(${suffixes}::text[]) as suffix`;
    await db.sql`
      insert into webhook_deliveries (id, event_id, endpoint_id, event_type)
      select 'dlv_' || suffix, 'evt_' || suffix, ${endpointId}, 'record.created' from unnest(${suffixes}::text[]) as suffix`;
    received = 0;
    const worker = createWebhookWorker({
      sql: db.sql,
      sealingKey,
      listen: false,
      concurrency,
      http: { allowedHosts: ['127.0.0.1'] },
      policy: retryPolicy({ delaysMs: [] }),
    });
    const started = performance.now();
    await worker.start();
    const deadline = Date.now() + 600_000;
    for (;;) {
      const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from webhook_deliveries where endpoint_id = ${endpointId} and status = 'success'`;
      if ((row?.n ?? 0) >= events) break;
      if (Date.now() > deadline) throw new Error(`concurrency ${concurrency}: not done in 10 minutes`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const seconds = (performance.now() - started) / 1000;
    await worker.stop();
    rows.push(`| ${concurrency} | ${events} | ${received} | ${seconds.toFixed(2)} | ${Math.round(events / seconds)} |`);
  }
  console.log(`Webhook delivery, one worker, ${serverUrl ? 'PostgreSQL server' : 'embedded PGlite'}, receiver on loopback answering 204:\n`);
  console.log('| concurrency | events | requests received | seconds | deliveries/s |\n|---|---|---|---|---|');
  console.log(rows.join('\n'));
} finally {
  receiver.close();
  await db.close();
  if (admin) {
    await admin.sql.unsafe(`drop database if exists ${name} with (force)`);
    await admin.close();
  }
}
