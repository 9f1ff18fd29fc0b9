/**
 * The honest peer: what a team would write by hand instead of Charter for the two measured routes,
 * with Fastify 5 and postgres.js over the same tables, doing the same database work per request.
 *
 * - `GET /api/v1/modules/:module_id/records?limit=N`: authenticate the key by its SHA-256 digest
 *   and count the request against its minute (and day) counter in one statement, on a pool with
 *   `synchronous_commit = off` (the statement is Charter's gatekeeper's); 401/429 as Charter
 *   answers them; the module in the key's workspace (404); then the page (limit + 1, newest first,
 *   within the same page byte budget) and the count in parallel; the same JSON envelope, the same
 *   cursor format (so the bench can check the bytes against Charter's).
 * - `POST /api/v1/modules/:module_id/records` with `Idempotency-Key`: the same admission, then one
 *   transaction that claims the key, loads the module, validates and inserts the record, and stores
 *   the response; a repeat replays the stored response.
 * - Every answered request is buffered for the access log and per-minute usage, written in batches
 *   like Charter's AccessLogWriter (every second or 500 entries, on the non-durable pool).
 *
 * It needs a PostgreSQL server (DATABASE_URL): the embedded database admits one process only.
 * It makes no data; it serves whatever the Charter target made in that database.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { MAX_RECORD_DATA_BYTES, MAX_RECORD_PAGE_BYTES, TIERS } from '@charter/contracts';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import postgres from 'postgres';
import { monotonicFactory } from 'ulid';
import { announceReady, stopWhenStdinEnds } from '../lib/protocol.ts';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error('the peer needs DATABASE_URL (a PostgreSQL server)');

// The same pools as Charter's `connect`: 10 durable connections, 5 for counters and logs.
const common = { idle_timeout: 0, connect_timeout: 10, onnotice: () => {} };
const sql = postgres(databaseUrl, { ...common, max: 10, connection: { TimeZone: 'UTC' } });
const fastSql = postgres(databaseUrl, { ...common, max: 5, connection: { TimeZone: 'UTC', synchronous_commit: 'off' } });

const ulid = monotonicFactory();
const newId = (prefix: string) => `${prefix}_${ulid().toLowerCase()}`;

// ---------------------------------------------------------------------------------------------
// Errors, in the API's envelope.

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function sendError(reply: FastifyReply, error: HttpError): FastifyReply {
  return reply
    .code(error.status)
    .headers(error.headers)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ error: error.code, message: error.message, request_id: reply.request.id, ...error.extra }));
}

const invalid = (errors: Record<string, string[]>) => {
  const count = Object.keys(errors).length;
  return new HttpError(422, 'validation_failed', `The given data was invalid: ${count} field${count === 1 ? ' has an error' : 's have errors'}.`, { errors });
};

// ---------------------------------------------------------------------------------------------
// Admission: key and counters in one statement (Charter's gatekeeper statement).

interface Principal {
  keyId: string;
  workspaceId: string;
  scopes: string[];
  lastUsedAt: Date | null;
}

interface AdmissionRow {
  id: string;
  workspace_id: string;
  scopes: string[];
  last_used_at: Date | null;
  digest: Buffer;
  minute_cap: number;
  minute_count: number;
  minute_start: Date;
  daily_quota: number | null;
  day_count: number;
  day_start: Date;
  now: Date;
}

const TIER_TABLE = JSON.stringify(TIERS);
const KEY_SHAPE = /^sk_(live|test)_[0-9A-Za-z]{38}$/;
const BEARER = /^Bearer +(\S+) *$/i;

async function admit(request: FastifyRequest, reply: FastifyReply): Promise<Principal | undefined> {
  const presented = BEARER.exec(request.headers.authorization ?? '')?.[1];
  if (!presented || !KEY_SHAPE.test(presented)) {
    sendError(reply, new HttpError(401, 'unauthorized', 'A valid API key is required.'));
    return undefined;
  }
  const digest = createHash('sha256').update(presented).digest();
  const [row] = await fastSql<AdmissionRow[]>`
    with key as (
      select k.id, k.workspace_id, k.scopes, k.daily_quota, k.last_used_at, s.digest, t.per_minute
               + coalesce(k.burst, floor(t.per_minute * t.burst_percent / 100)::int) as minute_cap
      from api_key_secrets s
      join api_keys k on k.id = s.key_id
      cross join lateral (
        select coalesce(k.rate_limit_per_minute, (${TIER_TABLE}::text::jsonb -> k.tier ->> 'perMinute')::int) as per_minute,
               (${TIER_TABLE}::text::jsonb -> k.tier ->> 'burstPercent')::int as burst_percent
      ) t
      where s.digest = ${digest}
        and k.revoked_at is null
        and (s.expires_at is null or s.expires_at > now())
        and (k.expires_at is null or k.expires_at > now())
    ),
    minute as (
      insert into rate_limit_counters as c (subject, window_kind, window_start, count)
      select 'key:' || key.id, 'minute', date_trunc('minute', now()), 1 from key
      on conflict (subject, window_kind, window_start) do update set count = c.count + 1
      returning c.count, c.window_start
    ),
    day as (
      insert into rate_limit_counters as c (subject, window_kind, window_start, count)
      select 'key:' || key.id, 'day', date_trunc('day', now()), 1 from key, minute
      where key.daily_quota is not null and minute.count <= key.minute_cap
      on conflict (subject, window_kind, window_start) do update set count = c.count + 1
      returning c.count
    )
    select key.id, key.workspace_id, key.scopes, key.last_used_at, key.digest, key.minute_cap, key.daily_quota,
           minute.count as minute_count, minute.window_start as minute_start,
           coalesce((select count from day), (
             select count from rate_limit_counters
             where subject = 'key:' || key.id and window_kind = 'day' and window_start = date_trunc('day', now())
           ), 0) as day_count,
           date_trunc('day', now()) as day_start, now() as now
    from key cross join minute`;
  if (!row || !timingSafeEqual(row.digest, digest)) {
    sendError(reply, new HttpError(401, 'unauthorized', 'A valid API key is required.'));
    return undefined;
  }
  const minuteReset = row.minute_start.getTime() + 60_000;
  reply.header('X-RateLimit-Limit', String(row.minute_cap));
  reply.header('X-RateLimit-Remaining', String(Math.max(0, row.minute_cap - row.minute_count)));
  reply.header('X-RateLimit-Reset', String(Math.ceil(minuteReset / 1000)));
  const overMinute = row.minute_count > row.minute_cap;
  const overDay = row.daily_quota !== null && row.day_count > row.daily_quota;
  if (overMinute || overDay) {
    const resetAt = overDay ? row.day_start.getTime() + 86_400_000 : minuteReset;
    const retryAfter = Math.max(1, Math.ceil((resetAt - row.now.getTime()) / 1000));
    sendError(
      reply,
      new HttpError(
        429,
        'rate_limit_exceeded',
        `${overDay ? 'Daily quota exceeded' : 'Too many requests'}. Please retry after ${retryAfter} ${retryAfter === 1 ? 'second' : 'seconds'}.`,
        { retry_after: retryAfter },
        { 'Retry-After': String(retryAfter) },
      ),
    );
    return undefined;
  }
  const principal = { keyId: row.id, workspaceId: row.workspace_id, scopes: row.scopes, lastUsedAt: row.last_used_at };
  touchLastUsed(principal);
  return principal;
}

// last_used_at to the minute, at most one write per key per minute, not awaited (as Charter does).
const touched = new Map<string, number>();
function touchLastUsed(principal: Principal): void {
  const now = Date.now();
  if (now - Math.max(principal.lastUsedAt?.getTime() ?? 0, touched.get(principal.keyId) ?? 0) < 60_000) return;
  touched.set(principal.keyId, now);
  sql`update api_keys set last_used_at = now()
      where id = ${principal.keyId} and (last_used_at is null or last_used_at < now() - interval '1 minute')`.catch(() => {});
}

function requireScope(principal: Principal, scope: string): void {
  if (!principal.scopes.includes('*') && !principal.scopes.includes(scope)) {
    throw new HttpError(403, 'access_denied', `This API key lacks the ${scope} scope.`, { required_scopes: [scope] });
  }
}

// ---------------------------------------------------------------------------------------------
// The access log: buffered, written in batches off the request path.

interface LogRow {
  id: string;
  workspace_id: string;
  key_id: string;
  method: string;
  path: string;
  status: number;
  latency_ms: number;
  request_id: string;
  client_address: string | null;
  created_at: Date;
}

let logBuffer: LogRow[] = [];
let logWriting: Promise<void> = Promise.resolve();

function flushLog(): Promise<void> {
  logWriting = logWriting.then(async () => {
    while (logBuffer.length > 0) {
      const batch = logBuffer.slice(0, 500);
      logBuffer = logBuffer.slice(batch.length);
      const usage = new Map<string, { key_id: string; minute: Date; requests: number; errors: number }>();
      for (const row of batch) {
        const minute = Math.floor(row.created_at.getTime() / 60_000) * 60_000;
        const id = `${row.key_id}|${minute}`;
        const bucket = usage.get(id) ?? { key_id: row.key_id, minute: new Date(minute), requests: 0, errors: 0 };
        bucket.requests++;
        if (row.status >= 400) bucket.errors++;
        usage.set(id, bucket);
      }
      const ordered = [...usage.keys()].sort().map((id) => usage.get(id)!);
      await fastSql
        .begin(async (tx) => {
          await tx`insert into access_logs ${tx(batch as unknown as Record<string, string>[])}`;
          await tx`insert into usage_minutes ${tx(ordered as unknown as Record<string, string>[])}
                   on conflict (key_id, minute) do update set
                     requests = usage_minutes.requests + excluded.requests, errors = usage_minutes.errors + excluded.errors`;
        })
        .catch((error: unknown) => console.error('access log write failed', error));
    }
  });
  return logWriting;
}
const logTimer = setInterval(() => void flushLog(), 1_000);

// ---------------------------------------------------------------------------------------------
// The routes.

interface ModuleRow {
  id: string;
  fields: { name: string; type: string; required?: boolean }[];
}

async function findModule(db: postgres.Sql | postgres.TransactionSql, workspaceId: string, moduleId: string): Promise<ModuleRow> {
  const [module] = await db<ModuleRow[]>`select id, fields from modules where id = ${moduleId} and workspace_id = ${workspaceId}`;
  if (!module) throw new HttpError(404, 'not_found', 'Module not found.');
  return module;
}

interface RecordRow {
  id: string;
  module_id: string;
  data: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  cursor_at?: string;
  data_bytes?: number;
  bytes_before?: string;
}

const toRecord = (row: RecordRow) => ({
  id: row.id,
  module_id: row.module_id,
  data: row.data,
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

const app = Fastify({ logger: false, genReqId: () => newId('req') });

app.addHook('onSend', async (request, reply) => {
  reply.header('X-Request-ID', request.id);
});
app.addHook('onResponse', async (request, reply) => {
  const principal = (request as FastifyRequest & { principal?: Principal }).principal;
  if (!principal) return;
  logBuffer.push({
    id: ulid().toLowerCase(),
    workspace_id: principal.workspaceId,
    key_id: principal.keyId,
    method: request.method,
    path: request.url.split('?')[0] ?? request.url,
    status: reply.statusCode,
    latency_ms: Math.round(reply.elapsedTime * 1000) / 1000,
    request_id: request.id,
    client_address: request.ip ?? null,
    created_at: new Date(),
  });
  if (logBuffer.length >= 500) void flushLog();
});
app.setErrorHandler((error, _request, reply) => {
  if (error instanceof HttpError) return sendError(reply, error);
  const status = (error as { statusCode?: number }).statusCode;
  if (status && status < 500) return sendError(reply, new HttpError(400, 'bad_request', (error as Error).message));
  console.error(error);
  return sendError(reply, new HttpError(500, 'internal_error', 'Something went wrong.'));
});

type RecordsRoute = { Params: { module_id: string }; Querystring: { limit?: string }; Body: { data?: unknown } };

app.get<RecordsRoute>('/api/v1/modules/:module_id/records', async (request, reply) => {
  const principal = await admit(request, reply);
  if (!principal) return reply;
  (request as FastifyRequest & { principal?: Principal }).principal = principal;
  requireScope(principal, 'records:read');
  const limit = request.query.limit === undefined ? 25 : Number(request.query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw invalid({ limit: ['The limit must be a whole number from 1 to 100.'] });
  const moduleId = request.params.module_id;
  const module = await findModule(sql, principal.workspaceId, moduleId);
  // Newest first; rows that would start past the page byte budget are not sent (one over it tells has_more).
  const [rows, [count]] = await Promise.all([
    sql<RecordRow[]>`
      select * from (
        select *, coalesce(sum(data_bytes) over (order by created_at desc, id desc rows between unbounded preceding and 1 preceding), 0) as bytes_before
        from (
          select id, module_id, data, created_at, updated_at, data_bytes, created_at::text as cursor_at from records
          where workspace_id = ${principal.workspaceId} and module_id = ${module.id}
          order by created_at desc, id desc limit ${limit + 1}
        ) as candidates
      ) as sized
      where bytes_before < ${MAX_RECORD_PAGE_BYTES}
      order by created_at desc, id desc`,
    sql<{ total: number }[]>`select count(*)::int as total from records where workspace_id = ${principal.workspaceId} and module_id = ${module.id}`,
  ]);
  let kept = Math.min(rows.length, limit);
  const firstOver = rows.findIndex((row, index) => index > 0 && Number(row.bytes_before) + Number(row.data_bytes) > MAX_RECORD_PAGE_BYTES);
  if (firstOver >= 0) kept = Math.min(kept, firstOver);
  const page = rows.slice(0, kept);
  const last = page.at(-1);
  const hasMore = rows.length > kept;
  // The same cursor as Charter's: the sort, a digest of the list's identity, and the last row's keys.
  const nextCursor =
    hasMore && last
      ? Buffer.from(JSON.stringify({ s: '-created_at', l: listDigest(principal.workspaceId, moduleId), v: [last.cursor_at, last.id] })).toString('base64url')
      : null;
  if (nextCursor) reply.header('Link', `</api/v1/modules/${moduleId}/records?limit=${limit}&cursor=${nextCursor}>; rel="next"`);
  reply.type('application/json; charset=utf-8');
  return JSON.stringify({ data: page.map(toRecord), total: count?.total ?? 0, limit, page: 1, has_more: hasMore, next_cursor: nextCursor });
});

function listDigest(workspaceId: string, moduleId: string): string {
  return createHash('sha256')
    // Charter's canonical JSON of [table, workspace, the list's choosing inputs]: here, one key.
    .update(JSON.stringify(['records', workspaceId, { module_id: moduleId }]))
    .digest('base64url')
    .slice(0, 22);
}

const IDEMPOTENCY_KEY = /^[\x21\x23-\x7e][\x20-\x7e]{0,254}$/;

app.post<RecordsRoute>('/api/v1/modules/:module_id/records', async (request, reply) => {
  const principal = await admit(request, reply);
  if (!principal) return reply;
  (request as FastifyRequest & { principal?: Principal }).principal = principal;
  requireScope(principal, 'records:write');
  const idempotencyKey = request.headers['idempotency-key'];
  if (idempotencyKey !== undefined && (typeof idempotencyKey !== 'string' || !IDEMPOTENCY_KEY.test(idempotencyKey))) {
    throw new HttpError(400, 'bad_request', 'The Idempotency-Key header must be 1–255 printable ASCII characters.');
  }
  const data = request.body?.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw invalid({ data: ['The data field must be an object.'] });
  const moduleId = request.params.module_id;
  const fingerprint = createHash('sha256').update(`POST ${request.url}\n${JSON.stringify(request.body)}`).digest();

  // Claim, effect and stored response commit together: a concurrent duplicate waits on the claim's
  // row lock, then finds the stored response.
  const outcome = await sql.begin(async (tx) => {
    if (idempotencyKey !== undefined) {
      const owner = newId('req');
      const [claimed] = await tx<{ owner: string }[]>`
        insert into idempotency_keys as i (key_id, idempotency_key, fingerprint, owner, locked_until, expires_at)
        values (${principal.keyId}, ${idempotencyKey}, ${fingerprint}, ${owner}, now() + interval '30 seconds', now() + interval '24 hours')
        on conflict (key_id, idempotency_key) do update set
          fingerprint = excluded.fingerprint, owner = excluded.owner, locked_until = excluded.locked_until,
          status = null, response_body = null, created_at = now(), expires_at = excluded.expires_at
        where i.expires_at <= now()
        returning i.owner`;
      if (claimed?.owner !== owner) {
        const [existing] = await tx<{ fingerprint: Buffer; status: number; response_body: string }[]>`
          select fingerprint, status, response_body from idempotency_keys where key_id = ${principal.keyId} and idempotency_key = ${idempotencyKey}`;
        if (!existing?.fingerprint.equals(fingerprint)) {
          throw new HttpError(422, 'idempotency_key_reused', 'This Idempotency-Key was already used with a different request (method, path or body).');
        }
        return { status: existing.status, body: existing.response_body, replayed: true };
      }
    }
    let status = 201;
    let body: string;
    try {
      const module = await findModule(tx, principal.workspaceId, moduleId);
      validateData(module.fields, data as Record<string, unknown>);
      const [row] = await tx<RecordRow[]>`
        insert into records (id, workspace_id, module_id, data)
        values (${newId('rec')}, ${principal.workspaceId}, ${module.id}, ${tx.json(data as postgres.JSONValue)})
        returning id, module_id, data, created_at, updated_at`;
      body = JSON.stringify(toRecord(row!));
    } catch (error) {
      if (!(error instanceof HttpError) || idempotencyKey === undefined) throw error;
      // A refused request is stored too, so that its retry gets the same answer.
      status = error.status;
      body = JSON.stringify({ error: error.code, message: error.message, request_id: request.id, ...error.extra });
    }
    if (idempotencyKey !== undefined) {
      await tx`update idempotency_keys set status = ${status}, response_body = ${body}, locked_until = null
               where key_id = ${principal.keyId} and idempotency_key = ${idempotencyKey}`;
    }
    return { status, body, replayed: false };
  });
  if (outcome.replayed) reply.header('Idempotent-Replayed', 'true');
  return reply.code(outcome.status).type('application/json; charset=utf-8').send(outcome.body);
});

function validateData(fields: ModuleRow['fields'], data: Record<string, unknown>): void {
  const bytes = Buffer.byteLength(JSON.stringify(data));
  if (bytes > MAX_RECORD_DATA_BYTES) throw invalid({ data: [`The data is ${bytes} bytes of JSON; a record holds at most ${MAX_RECORD_DATA_BYTES}.`] });
  const errors: Record<string, string[]> = {};
  const declared = new Map(fields.map((field) => [field.name, field]));
  for (const key of Object.keys(data)) if (!declared.has(key)) errors[`data.${key}`] = [`The data.${key} field is not declared by the module.`];
  for (const field of fields) {
    const value = Object.hasOwn(data, field.name) ? data[field.name] : undefined;
    if (value === undefined || value === null) {
      if (field.required) errors[`data.${field.name}`] = [`The data.${field.name} field is required.`];
      continue;
    }
    const ok =
      field.type === 'string' || field.type === 'date'
        ? typeof value === 'string'
        : field.type === 'number'
          ? typeof value === 'number' && Number.isFinite(value)
          : field.type === 'boolean'
            ? typeof value === 'boolean'
            : true;
    if (!ok) errors[`data.${field.name}`] = [`The data.${field.name} field must be a ${field.type}.`];
  }
  if (Object.keys(errors).length > 0) throw invalid(errors);
}

const url = await app.listen({ port: 0, host: '127.0.0.1' });

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  await app.close();
  clearInterval(logTimer);
  await flushLog();
  await Promise.all([sql.end({ timeout: 5 }), fastSql.end({ timeout: 5 })]);
  process.exit(0);
}
stopWhenStdinEnds(() => void stop());
process.on('SIGTERM', () => void stop());

announceReady({ url });
