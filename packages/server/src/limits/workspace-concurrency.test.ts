import { afterEach, describe, expect, it, vi } from 'vitest';
import { workspaceBusy, workspaceConcurrency } from './workspace-concurrency.ts';

describe('workspaceConcurrency', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('admits maxActive at once per workspace, queues up to maxQueued, and refuses the rest at once', async () => {
    const cap = workspaceConcurrency({ maxActive: 2, maxQueued: 1, queueTimeoutMs: 60_000 });
    const first = await cap.acquire('ws_a');
    const second = await cap.acquire('ws_a');
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    const queued = cap.acquire('ws_a');
    expect(await cap.acquire('ws_a')).toBeUndefined();
    // Another workspace has its own share.
    const other = await cap.acquire('ws_b');
    expect(other).toBeDefined();
    expect(cap.load('ws_a')).toEqual({ active: 2, queued: 1 });

    first!.release();
    const third = await queued;
    expect(third).toBeDefined();
    expect(cap.load('ws_a')).toEqual({ active: 2, queued: 0 });
    // Releasing twice frees one turn only.
    first!.release();
    expect(cap.load('ws_a')).toEqual({ active: 2, queued: 0 });
    second!.release();
    third!.release();
    other!.release();
    expect(cap.load('ws_a')).toEqual({ active: 0, queued: 0 });
  });

  it('hands turns to waiters first come, first served', async () => {
    const cap = workspaceConcurrency({ maxActive: 1, maxQueued: 3, queueTimeoutMs: 60_000 });
    const holder = await cap.acquire('ws_a');
    const order: number[] = [];
    const waiters = [1, 2, 3].map((n) =>
      cap.acquire('ws_a').then((turn) => {
        order.push(n);
        turn?.release();
      }),
    );
    holder!.release();
    await Promise.all(waiters);
    expect(order).toEqual([1, 2, 3]);
    expect(cap.load('ws_a')).toEqual({ active: 0, queued: 0 });
  });

  it('gives up on a waiter after queueTimeoutMs, leaving the queue clean', async () => {
    vi.useFakeTimers();
    const cap = workspaceConcurrency({ maxActive: 1, maxQueued: 2, queueTimeoutMs: 1_000 });
    const holder = await cap.acquire('ws_a');
    const waiting = cap.acquire('ws_a');
    expect(cap.load('ws_a')).toEqual({ active: 1, queued: 1 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await waiting).toBeUndefined();
    expect(cap.load('ws_a')).toEqual({ active: 1, queued: 0 });
    holder!.release();
    expect(cap.load('ws_a')).toEqual({ active: 0, queued: 0 });
  });

  it('refuses bad options at setup', () => {
    expect(() => workspaceConcurrency({ maxActive: 0, maxQueued: 0, queueTimeoutMs: 0 })).toThrow(/maxActive/);
    expect(() => workspaceConcurrency({ maxActive: 1, maxQueued: -1, queueTimeoutMs: 0 })).toThrow(/maxQueued/);
  });

  it('answers the documented 503 with Retry-After', () => {
    const error = workspaceBusy();
    expect(error.status).toBe(503);
    expect(error.code).toBe('service_unavailable');
    expect(error.headers['Retry-After']).toBe('1');
    expect(error.extras.retry_after).toBe(1);
  });
});
