import type { Sql } from '@charter/db';
import { ulid } from 'ulid';
import { randomFraction } from '../ids.ts';

/** Longest path the access log stores, in UTF-16 code units; longer ones are cut and end in "…". */
export const MAX_LOGGED_PATH = 512;
// Node parses only the methods it knows (the longest has 11 letters); a bound costs nothing.
const MAX_LOGGED_METHOD = 32;
// An IPv6 address with a zone is at most 45 + 1 + an interface name.
const MAX_LOGGED_ADDRESS = 64;
// The same bound as an accepted X-Request-ID (http/request-id.ts), for entries from elsewhere.
const MAX_LOGGED_REQUEST_ID = 128;

/**
 * `value` cut to at most `max` code units, ending in "…" when cut, never keeping half of a
 * surrogate pair (PostgreSQL refuses ill-formed Unicode).
 */
export function boundText(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = max - 1;
  const last = value.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${value.slice(0, end)}…`;
}

/** One served request, as the access log keeps it. */
export interface AccessLogEntry {
  workspaceId: string | null;
  keyId: string | null;
  method: string;
  path: string;
  status: number;
  latencyMs: number;
  requestId: string;
  clientAddress: string | null;
  at: Date;
}

/** Where served requests are recorded. */
export interface RequestLog {
  record(entry: AccessLogEntry): void;
  /** Writes out whatever is buffered. */
  flush(): Promise<void>;
  /** Flushes and stops the timer. */
  close(): Promise<void>;
}

export interface AccessLogOptions {
  /** Longest an entry waits in memory before it is written. Default 1000 ms. */
  flushIntervalMs?: number;
  /** A batch this large is written at once. Default 500. */
  batchSize?: number;
  /** Entries kept while the database is unreachable; beyond it the oldest are dropped. Default 100,000. */
  maxBuffered?: number;
  onError?: (error: unknown) => void;
}

/**
 * The access log and per-minute usage, written in batches off the request path: a request only
 * appends to an array. Every `flushIntervalMs` (or `batchSize` entries) one transaction inserts
 * the batch and adds it to `usage_minutes`. A hard crash loses at most what is buffered: about
 * one flush interval of traffic. SIGTERM flushes everything before the process exits.
 *
 * Every stored text is bounded (a path to MAX_LOGGED_PATH). Requests without a valid key belong
 * to no workspace and anyone can send them: they are not stored one by one but counted in
 * `unauthenticated_requests`, one row per minute, client address, method and status, keeping the
 * last one's path and request id as a sample. However many such requests arrive, each client
 * address adds at most a few rows a minute.
 */
export class AccessLogWriter implements RequestLog {
  private buffer: AccessLogEntry[] = [];
  private writing: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private readonly batchSize: number;
  private readonly maxBuffered: number;
  private readonly onError: (error: unknown) => void;

  constructor(
    private readonly sql: Sql,
    options: AccessLogOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.maxBuffered = options.maxBuffered ?? 100_000;
    this.onError = options.onError ?? ((error) => console.error('access log write failed', error));
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  record(entry: AccessLogEntry): void {
    // Bounded before buffering, so that memory too stays bounded while the database is away.
    this.buffer.push({
      ...entry,
      method: boundText(entry.method, MAX_LOGGED_METHOD),
      path: boundText(entry.path, MAX_LOGGED_PATH),
      requestId: boundText(entry.requestId, MAX_LOGGED_REQUEST_ID),
      clientAddress: entry.clientAddress === null ? null : boundText(entry.clientAddress, MAX_LOGGED_ADDRESS),
    });
    if (this.buffer.length > this.maxBuffered) this.buffer.splice(0, this.buffer.length - this.maxBuffered);
    if (this.buffer.length >= this.batchSize) void this.flush();
  }

  /** Writes are chained, so that batches land in order and flush() waits for all before it. */
  flush(): Promise<void> {
    this.writing = this.writing.then(async () => {
      while (this.buffer.length > 0) {
        const batch = this.buffer.splice(0, this.batchSize);
        try {
          await this.write(batch);
        } catch (error) {
          // Keep the batch for the next attempt rather than lose it.
          this.buffer.unshift(...batch);
          this.onError(error);
          return;
        }
      }
    });
    return this.writing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async write(batch: AccessLogEntry[]): Promise<void> {
    const rows: Record<string, string | number | Date | null>[] = [];
    const usage = new Map<string, { key_id: string; minute: Date; requests: number; errors: number }>();
    const unauthenticated = new Map<string, UnauthenticatedRow>();
    for (const entry of batch) {
      const minute = new Date(Math.floor(entry.at.getTime() / 60_000) * 60_000);
      if (entry.workspaceId === null) {
        const clientAddress = entry.clientAddress ?? '';
        const id = `${minute.getTime()}|${clientAddress}|${entry.method}|${entry.status}`;
        const bucket = unauthenticated.get(id);
        if (bucket) {
          bucket.requests++;
          bucket.sample_path = entry.path;
          bucket.sample_request_id = entry.requestId;
        } else {
          unauthenticated.set(id, {
            minute,
            client_address: clientAddress,
            method: entry.method,
            status: entry.status,
            requests: 1,
            sample_path: entry.path,
            sample_request_id: entry.requestId,
          });
        }
        continue;
      }
      rows.push({
        id: ulid(entry.at.getTime(), randomFraction).toLowerCase(),
        workspace_id: entry.workspaceId,
        key_id: entry.keyId,
        method: entry.method,
        path: entry.path,
        status: entry.status,
        latency_ms: Math.round(entry.latencyMs * 1000) / 1000,
        request_id: entry.requestId,
        client_address: entry.clientAddress,
        created_at: entry.at,
      });
      if (!entry.keyId) continue;
      const id = `${entry.keyId}|${minute.getTime()}`;
      const bucket = usage.get(id) ?? { key_id: entry.keyId, minute, requests: 0, errors: 0 };
      bucket.requests++;
      if (entry.status >= 400) bucket.errors++;
      usage.set(id, bucket);
    }
    // Upserted in key order: processes writing the same rows at once then lock them in the same
    // order, and cannot deadlock.
    const inOrder = <Row>(byKey: Map<string, Row>) => [...byKey.keys()].sort().map((key) => byKey.get(key) as Row);
    await this.sql.begin(async (tx) => {
      if (rows.length > 0) await tx`insert into access_logs ${tx(rows)}`;
      if (usage.size > 0) {
        await tx`
          insert into usage_minutes ${tx(inOrder(usage))}
          on conflict (key_id, minute) do update set
            requests = usage_minutes.requests + excluded.requests,
            errors = usage_minutes.errors + excluded.errors`;
      }
      if (unauthenticated.size > 0) {
        await tx`
          insert into unauthenticated_requests ${tx(inOrder(unauthenticated))}
          on conflict (minute, client_address, method, status) do update set
            requests = unauthenticated_requests.requests + excluded.requests,
            sample_path = excluded.sample_path,
            sample_request_id = excluded.sample_request_id`;
      }
    });
  }
}

interface UnauthenticatedRow {
  minute: Date;
  client_address: string;
  method: string;
  status: number;
  requests: number;
  sample_path: string;
  sample_request_id: string;
}

/** A log that keeps nothing: for benchmarks that measure the server without it. */
export const noRequestLog: RequestLog = {
  record() {},
  flush: async () => {},
  close: async () => {},
};
