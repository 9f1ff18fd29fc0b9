import { describe, expect, it } from 'vitest';
import { memoryAddressLimiter } from './address-window.ts';

describe('memoryAddressLimiter', () => {
  const minute = Date.UTC(2026, 0, 1, 12, 0);

  it('admits the limit per address per fixed minute, then refuses until the window ends', () => {
    const admit = memoryAddressLimiter(2);
    expect(admit('a', minute + 1_000).admitted).toBe(true);
    expect(admit('a', minute + 2_000).admitted).toBe(true);
    const refused = admit('a', minute + 50_000);
    expect(refused.admitted).toBe(false);
    expect(refused.policies[0]?.resetSeconds).toBe(10);
    expect(admit('b', minute + 50_000).admitted).toBe(true);
    expect(admit('a', minute + 60_000).admitted).toBe(true);
  });

  it('keeps at most maxAddresses counters: the rest share one, so spoofed sources cannot grow memory', () => {
    const admit = memoryAddressLimiter(3, 2);
    admit('a', minute);
    admit('b', minute);
    expect(admit('c', minute).admitted).toBe(true);
    expect(admit('d', minute).admitted).toBe(true);
    expect(admit('e', minute).admitted).toBe(true);
    expect(admit('f', minute).admitted).toBe(false);
    expect(admit('a', minute).admitted).toBe(true);
  });
});
