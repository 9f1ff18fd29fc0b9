import type { Sql } from '@charter/db';
import { ulid } from 'ulid';

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
    this.buffer.push(entry);
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
    const rows = batch.map((entry) => ({
      id: ulid(entry.at.getTime()).toLowerCase(),
      workspace_id: entry.workspaceId,
      key_id: entry.keyId,
      method: entry.method,
      path: entry.path,
      status: entry.status,
      latency_ms: Math.round(entry.latencyMs * 1000) / 1000,
      request_id: entry.requestId,
      client_address: entry.clientAddress,
      created_at: entry.at,
    }));
    const usage = new Map<string, { key_id: string; minute: Date; requests: number; errors: number }>();
    for (const entry of batch) {
      if (!entry.keyId) continue;
      const minute = new Date(Math.floor(entry.at.getTime() / 60_000) * 60_000);
      const id = `${entry.keyId}|${minute.getTime()}`;
      const bucket = usage.get(id) ?? { key_id: entry.keyId, minute, requests: 0, errors: 0 };
      bucket.requests++;
      if (entry.status >= 400) bucket.errors++;
      usage.set(id, bucket);
    }
    await this.sql.begin(async (tx) => {
      await tx`insert into access_logs ${tx(rows)}`;
      if (usage.size > 0) {
        await tx`
          insert into usage_minutes ${tx([...usage.values()])}
          on conflict (key_id, minute) do update set
            requests = usage_minutes.requests + excluded.requests,
            errors = usage_minutes.errors + excluded.errors`;
      }
    });
  }
}

/** A log that keeps nothing: for benchmarks that measure the server without it. */
export const noRequestLog: RequestLog = {
  record() {},
  flush: async () => {},
  close: async () => {},
};
