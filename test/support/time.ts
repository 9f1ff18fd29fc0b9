/**
 * Rate-limit windows are calendar minutes. A test that must stay inside one window waits for a
 * fresh one when fewer than `needSeconds` remain in the current minute.
 */
export async function awaitFreshMinute(needSeconds = 15): Promise<void> {
  const intoMinute = (Date.now() % 60_000) / 1000;
  if (60 - intoMinute < needSeconds) await new Promise((resolve) => setTimeout(resolve, (60 - intoMinute) * 1000 + 250));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
