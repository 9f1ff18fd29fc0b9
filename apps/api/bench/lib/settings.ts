/** A whole-number setting from the environment (BENCH_DURATION, …): `fallback` when unset, an error when malformed. */
export function setting(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name}=${JSON.stringify(raw)}: must be a whole number of at least ${min}`);
  return value;
}
