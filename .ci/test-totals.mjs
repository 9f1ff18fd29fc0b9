// Sums the JSON reports that vitest wrote into a folder (scripts/vitest-reporters.mts) and prints
// "<passed> <failed> <skipped>". A test file that failed without a failing test (it did not load,
// or a hook threw) counts as one failed test: a failed run never reads as "0 failed". The name of
// every skipped test goes to stderr, so that the log shows what did not run and (by its name) why.
//   usage: node .ci/test-totals.mjs DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
let passed = 0;
let failed = 0;
let skipped = 0;
for (const name of readdirSync(dir).filter((file) => file.endsWith('.json'))) {
  const report = JSON.parse(readFileSync(join(dir, name), 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
  for (const file of report.testResults) {
    const failedTests = file.assertionResults.filter((test) => test.status === 'failed').length;
    if (file.status === 'failed' && failedTests === 0) failed += 1;
    for (const test of file.assertionResults) {
      if (test.status !== 'passed' && test.status !== 'failed') console.error(`${test.status}: ${test.fullName}`);
    }
  }
}
console.log(`${passed} ${failed} ${skipped}`);
