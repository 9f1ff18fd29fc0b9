import { describe, expect, it } from 'vitest';
import { type GiveBack, type Outcome, TokenPools } from './token-pool.ts';

const minute = new Date(Date.UTC(2026, 0, 1, 12, 0));
const nextMinute = new Date(minute.getTime() + 60_000);
const day = new Date(Date.UTC(2026, 0, 1));
const caps = { minute: 1_000, day: null };
/** The database's clock, as a process estimates it: one second into `minute`. */
const inWindow = minute.getTime() + 1_000;

/**
 * What the admission statement answers when it leased `leased` tokens (0: it only read, and the
 * token the request held was of the current window).
 */
function outcome(leased: number, count: number, options: Partial<Outcome> = {}): Outcome {
  return {
    subject: 'key:k',
    minuteStart: minute,
    dayStart: day,
    daily: false,
    confirmed: leased === 0,
    leased: leased > 0,
    minuteLeased: leased,
    dayLeased: leased,
    minuteCount: count,
    dayCount: count,
    ...options,
  };
}

describe('TokenPools', () => {
  it('leases one token first, then blocks that double while demand outlasts them; a held token needs no lease', () => {
    const pools = new TokenPools(() => {});
    const first = pools.take('k', inWindow);
    expect(first).toMatchObject({ reserved: undefined, want: 1 });
    expect(pools.settle('k', first, outcome(1, 1), caps).admitted).toBe(true);
    const second = pools.take('k', inWindow);
    expect(second).toMatchObject({ reserved: undefined, want: 2 });
    pools.settle('k', second, outcome(2, 3), caps);
    expect(pools.held('k')).toBe(1);
    // The held token: this request is admitted with it, and as the pool is now empty, its statement tops it up.
    const third = pools.take('k', inWindow);
    expect(third).toMatchObject({ reserved: minute, topUp: 4 });
    expect(pools.settle('k', third, outcome(4, 7, { confirmed: true }), caps)).toEqual({ admitted: true, minuteRemaining: 997, dayRemaining: 0 });
    expect(pools.held('k')).toBe(4);
    // Held tokens, more than a quarter of the block: no lease at all.
    const fourth = pools.take('k', inWindow);
    expect(fourth).toMatchObject({ reserved: minute, topUp: 0 });
    expect(pools.settle('k', fourth, outcome(0, 7), caps)).toEqual({ admitted: true, minuteRemaining: 996, dayRemaining: 0 });
    // Below a quarter of the block (8) left: the next lease is on its way before the pool runs dry.
    expect(pools.take('k', inWindow)).toMatchObject({ reserved: minute, topUp: 0 });
    expect(pools.take('k', inWindow)).toMatchObject({ reserved: minute, topUp: 8 });
  });

  it('a pool that runs low leases a block as large as the demand, and requests that find it empty one token each', () => {
    const pools = new TokenPools(() => {});
    pools.settle('k', pools.take('k', inWindow), outcome(5, 5), caps);
    expect(pools.held('k')).toBe(4);
    const tickets = Array.from({ length: 6 }, () => pools.take('k', inWindow));
    // Four hold a token, the fourth also topping the pool up with a block as large as the demand
    // (four in flight); the two that find it empty meanwhile lease one token each, for themselves.
    expect(tickets.map((ticket) => ticket.reserved !== undefined)).toEqual([true, true, true, true, false, false]);
    expect(tickets.map((ticket) => ticket.topUp)).toEqual([0, 0, 0, 4, 0, 0]);
    expect(tickets.slice(4).map((ticket) => ticket.want)).toEqual([1, 1]);
  });

  it('refuses when the lease got nothing, and reports what this process holds as remaining', () => {
    const pools = new TokenPools(() => {});
    const limited = { minute: 10, day: null };
    const first = pools.take('k', inWindow);
    expect(pools.settle('k', first, outcome(3, 9), limited)).toEqual({ admitted: true, minuteRemaining: 3, dayRemaining: 0 });
    pools.settle('k', pools.take('k', inWindow), outcome(0, 9), limited);
    // The last token, with a top-up that finds the window full.
    pools.settle('k', pools.take('k', inWindow), outcome(0, 10, { leased: true }), limited);
    expect(pools.held('k')).toBe(0);
    expect(pools.settle('k', pools.take('k', inWindow), outcome(0, 10, { leased: true, confirmed: false }), limited)).toEqual({
      admitted: false,
      minuteRemaining: 0,
      dayRemaining: 0,
    });
  });

  it('gives back the day share of tokens held when the window turns, and of minute tokens the day could not match', () => {
    const back: GiveBack[] = [];
    const pools = new TokenPools((tokens) => back.push(tokens));
    const daily = { minute: 1_000, day: 5_000 };
    pools.settle('k', pools.take('k', inWindow), outcome(4, 4, { daily: true }), daily);
    expect(pools.held('k')).toBe(3);
    // The next request holds a token of the minute that has ended: the statement leased in the new one.
    const late = pools.take('k', inWindow);
    expect(late.reserved).toEqual(minute);
    pools.settle('k', late, outcome(2, 2, { daily: true, minuteStart: nextMinute }), daily);
    expect(back).toEqual([
      { subject: 'key:k', minuteStart: minute, minuteTokens: 0, dayStart: day, dayTokens: 2 },
      { subject: 'key:k', minuteStart: minute, minuteTokens: 0, dayStart: day, dayTokens: 1 },
    ]);
    expect(pools.held('k')).toBe(1);
    pools.settle('k', pools.take('k', inWindow), outcome(0, 2, { daily: true, minuteStart: nextMinute }), daily);
    back.length = 0;
    // The day had one token left where the minute gave two: the other minute token goes back.
    pools.settle('k', pools.take('k', inWindow), outcome(2, 4, { daily: true, minuteStart: nextMinute, dayLeased: 1 }), daily);
    expect(back).toEqual([{ subject: 'key:k', minuteStart: nextMinute, minuteTokens: 1, dayStart: day, dayTokens: 0 }]);
  });

  it('gives back what it holds once the key is idle here, so that another process can use it', async () => {
    const back: GiveBack[] = [];
    const pools = new TokenPools((tokens) => back.push(tokens));
    pools.settle('k', pools.take('k', inWindow), outcome(8, 8), caps);
    expect(pools.held('k')).toBe(7);
    const deadline = Date.now() + 10_000;
    while (back.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(back).toEqual([{ subject: 'key:k', minuteStart: minute, minuteTokens: 7, dayStart: day, dayTokens: 0 }]);
    expect(pools.held('k')).toBe(0);
    // The next request holds nothing, and leases a block no larger than before.
    expect(pools.take('k', inWindow)).toMatchObject({ reserved: undefined, want: 1 });
  });

  it("leases instead of spending a held token in a window's last seconds", () => {
    const pools = new TokenPools(() => {});
    pools.settle('k', pools.take('k', inWindow), outcome(8, 8), caps);
    expect(pools.held('k')).toBe(7);
    expect(pools.take('k', minute.getTime() + 58_500)).toMatchObject({ reserved: undefined, want: 1 });
    expect(pools.held('k')).toBe(7);
  });
});
