/**
 * Every package's vitest writes its totals as JSON when CI asks for them, so that CI reads counts
 * instead of scraping vitest's screen output: with CHARTER_TEST_REPORT_DIR set, a report named
 * after the package's folder goes there beside the usual output (`.ci/run` sums them).
 */
import { basename } from 'node:path';

type Reporter = string | [string, Record<string, unknown>];

export function reporters(): Reporter[] {
  const dir = process.env.CHARTER_TEST_REPORT_DIR;
  if (!dir) return ['default'];
  return ['default', ['json', { outputFile: `${dir}/${basename(process.cwd())}.json` }]];
}
