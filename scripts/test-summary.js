// The closing line of scripts/test.sh, from jest's --json output: "N passed, N failed, N skipped".
// A test file that fails to load, or whose afterAll throws, has no failing test of its own but a
// failing suite (numFailedTestSuites, testResults[].status "failed" with a failureMessage); each
// such suite counts as one failure, so the line never says "0 failed" when jest did not pass.
// Usage: node scripts/test-summary.js <jest-results.json>
import { readFileSync } from 'node:fs';

/** The summary line for a parsed jest JSON result. */
export function summarize(results) {
  const suites = results.testResults ?? [];
  const broken = suites.filter(
    (s) => s.status === 'failed' && !(s.assertionResults ?? []).some((a) => a.status === 'failed'),
  );
  const failed = (results.numFailedTests ?? 0) + broken.length;
  const notes = broken.map((s) => `${s.name}: ${firstLine(s.failureMessage ?? s.message ?? 'suite failed')}`);
  const line = `${results.numPassedTests ?? 0} passed, ${failed} failed, ${results.numPendingTests ?? 0} skipped`;
  return notes.length === 0 ? line : `${line} (${broken.length} suite(s) failed outside a test)\n${notes.join('\n')}`;
}

function firstLine(text) {
  return (
    String(text)
      // eslint-disable-next-line no-control-regex -- jest's messages carry ANSI colour codes
      .replace(/\u001b\[[0-9;]*m/g, '')
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l !== '' && !l.startsWith('●')) ?? 'suite failed'
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(summarize(JSON.parse(readFileSync(process.argv[2], 'utf8'))));
}
