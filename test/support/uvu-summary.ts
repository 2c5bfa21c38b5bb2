/** Reading uvu's closing summary (`Total: N  Passed: N  Skipped: N`), for the test runner. */

/** The counts of one uvu run. `total` counts the tests that ran: uvu reports skipped tests beside it, not in it. */
export interface UvuSummary {
  total: number;
  passed: number;
  skipped: number;
}

const ANSI = /\u001b\[[0-9;]*m/g;

/** The last summary in a file's output (several suites in one run print one shared summary), or undefined. */
export function parseSummary(output: string): UvuSummary | undefined {
  const clean = output.replace(ANSI, '');
  const totals = [...clean.matchAll(/Total:\s+(\d+)\s+Passed:\s+(\d+)\s+Skipped:\s+(\d+)/g)];
  const m = totals[totals.length - 1];
  if (!m) return undefined;
  return { total: Number(m[1]), passed: Number(m[2]), skipped: Number(m[3]) };
}

/** Failed tests of a summary: those that ran and did not pass. */
export function countFailed(s: UvuSummary): number {
  return Math.max(0, s.total - s.passed);
}
