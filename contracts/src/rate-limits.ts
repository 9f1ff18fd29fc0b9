import { z } from 'zod';

/**
 * Rate-limit tiers of API.md: requests per minute, and the burst allowance on top of it as a
 * share of that limit.
 */
export const TIERS = {
  free: { perMinute: 60, burstPercent: 0 },
  starter: { perMinute: 1_000, burstPercent: 20 },
  pro: { perMinute: 5_000, burstPercent: 30 },
  agency: { perMinute: 20_000, burstPercent: 50 },
  enterprise: { perMinute: 100_000, burstPercent: 100 },
} as const;

export type Tier = keyof typeof TIERS;
export const TIER_NAMES = Object.keys(TIERS) as [Tier, ...Tier[]];

export const TierSchema = z.enum(TIER_NAMES).meta({
  id: 'Tier',
  description: 'Rate-limit tier: free 60/min (no burst), starter 1,000 (+20%), pro 5,000 (+30%), agency 20,000 (+50%), enterprise 100,000 (+100%).',
  example: 'starter',
});

/** A key's effective limits: its own values where set, else its tier's. */
export function effectiveLimits(key: { tier: Tier; rate_limit_per_minute: number | null; burst: number | null }) {
  const tier = TIERS[key.tier];
  const perMinute = key.rate_limit_per_minute ?? tier.perMinute;
  const burst = key.burst ?? Math.floor((perMinute * tier.burstPercent) / 100);
  return { perMinute, burst };
}
