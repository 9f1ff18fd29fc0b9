import { GRANULARITIES, MAX_USAGE_BUCKETS } from '@charter/contracts';
import { notFound, validationFailed } from '../errors.ts';
import { boundInstant, utcInstant } from '../instants.ts';
import { servePage } from '../lists.ts';
import { q } from '../sql-text.ts';
import { iso } from './serialize.ts';
import type { Handler } from './types.ts';

/** 0001-01-01T00:00:00Z in Unix milliseconds: the earliest instant the bucket query takes. */
const EARLIEST = -62_135_596_800_000;

export const getApiKeyUsage: Handler<'getApiKeyUsage'> = async ({ sql, principal }, input) => {
  // A revoked key is gone, as for GET /api-keys/{key_id}: its usage is gone with it (404).
  const [key] = await sql`select id from api_keys where id = ${input.key_id} and workspace_id = ${principal.workspaceId} and revoked_at is null`;
  if (!key) throw notFound('API key');
  const bucketSeconds = GRANULARITIES[input.granularity];
  // Buckets are computed in SQL, which takes only the years 0001–9999.
  for (const name of ['since', 'until'] as const) {
    const value = input[name];
    if (value !== undefined && utcInstant(value) === null) throw validationFailed({ [name]: [`The ${name} field must lie between the years 0001 and 9999 (UTC).`] });
  }
  const until = input.until ? new Date(input.until) : new Date();
  const since = input.since ? new Date(input.since) : new Date(Math.max(until.getTime() - 60 * bucketSeconds * 1000, EARLIEST));
  if (since >= until) throw validationFailed({ since: ['The since field must be before until.'] });
  if ((until.getTime() - since.getTime()) / 1000 / bucketSeconds > MAX_USAGE_BUCKETS) {
    throw validationFailed({ since: [`At most ${MAX_USAGE_BUCKETS} ${input.granularity} buckets per request; narrow the range or widen the granularity.`] });
  }
  const unit = input.granularity;
  // Buckets are UTC-aligned; empty ones are included so that a chart needs no gap-filling.
  const rows = await sql<{ start: Date; requests: number; errors: number }[]>`
    with buckets as (
      select generate_series(
        date_trunc(${unit}, ${since.toISOString()}::text::timestamptz),
        ${until.toISOString()}::text::timestamptz - interval '1 millisecond',
        make_interval(secs => ${bucketSeconds})
      ) as start
    )
    select b.start, coalesce(sum(u.requests), 0)::int as requests, coalesce(sum(u.errors), 0)::int as errors
    from buckets b
    left join usage_minutes u
      on u.key_id = ${input.key_id} and date_trunc(${unit}, u.minute) = b.start
      and u.minute >= ${since.toISOString()}::text::timestamptz and u.minute < ${until.toISOString()}::text::timestamptz
    group by b.start
    order by b.start`;
  const data = rows.map((row) => ({ start: iso(row.start), requests: row.requests, errors: row.errors }));
  return {
    key_id: input.key_id,
    granularity: input.granularity,
    since: data[0]?.start ?? since.toISOString(),
    until: until.toISOString(),
    total_requests: data.reduce((sum, bucket) => sum + bucket.requests, 0),
    total_errors: data.reduce((sum, bucket) => sum + bucket.errors, 0),
    data,
  };
};

interface AccessLogRow {
  request_id: string;
  key_id: string | null;
  method: string;
  path: string;
  status: number;
  latency_ms: number;
  client_address: string | null;
  created_at: Date;
}

export const listAccessLogs: Handler<'listAccessLogs'> = async (ctx, input) => {
  const { principal } = ctx;
  const where = [q`workspace_id = ${principal.workspaceId}`];
  if (input.key_id) where.push(q`key_id = ${input.key_id}`);
  if (input.status !== undefined) where.push(q`status = ${input.status}`);
  if (input.method) where.push(q`method = ${input.method}`);
  if (input.since) where.push(q`created_at >= ${boundInstant(input.since)}::text::timestamptz`);
  if (input.until) where.push(q`created_at < ${boundInstant(input.until)}::text::timestamptz`);
  return servePage(ctx, { table: 'access_logs', where, sortTypes: { created_at: 'timestamptz', id: 'text' } }, input, (row: AccessLogRow & Record<string, unknown>) => ({
    request_id: row.request_id,
    key_id: row.key_id,
    method: row.method,
    path: row.path,
    status: row.status,
    latency_ms: row.latency_ms,
    client_address: row.client_address,
    created_at: iso(row.created_at),
  }));
};
