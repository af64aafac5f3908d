#!/usr/bin/env node
// `npm test`: runs vitest, then prints one plain summary line as the very last line, because CI reads
// `N passed, N failed[, N skipped]` and does not understand vitest's own summary. Extra arguments go to vitest.
// npm starts it through bin/berth-node, so vitest and everything the tests start with process.execPath run on the
// Node.js that package.json pins; it says which Node that is, and refuses any other.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const resultsFile = join(repoRoot, '.vitest-results', 'results.json');

const { optionalDependencies = {} } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
const pinned = optionalDependencies[`node-${process.platform}-${process.arch}`];
if (process.versions.node !== pinned) {
  console.error(
    `the tests run on the pinned Node.js ${pinned ? `v${pinned}` : '(none for this platform)'}, not ${process.version} ` +
      `(${process.execPath}): run them with \`npm test\` or bin/berth-node scripts/test.mjs`,
  );
  console.log('0 passed, 1 failed');
  process.exit(1);
}
console.log(`tests run on Node.js ${process.version} (${process.execPath})`);

// A stale file from an earlier run would otherwise be read as this run's result if vitest dies early.
rmSync(resultsFile, { force: true });

const vitest = spawn(
  process.execPath,
  [
    join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs'),
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${resultsFile}`,
    ...process.argv.slice(2),
  ],
  { cwd: repoRoot, stdio: 'inherit' },
);

// Ctrl-C reaches vitest through the terminal already; a CI runner's SIGTERM only reaches us, so pass it on
// and let vitest run its teardown (which stops the throwaway PostgreSQL).
for (const signal of ['SIGTERM', 'SIGHUP']) {
  process.on(signal, () => vitest.kill(signal));
}
process.on('SIGINT', () => {});

const exitCode = await new Promise((done) => {
  vitest.on('error', (error) => {
    console.error(`could not start vitest: ${error.message}`);
    done(1);
  });
  vitest.on('close', (code, signal) => done(signal ? 1 : (code ?? 1)));
});

const counts = readCounts();
if (!counts) {
  console.error(`vitest wrote no results to ${resultsFile}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
// vitest can fail outside any test (unhandled error, coverage threshold, no test files): still report a failure.
if (exitCode !== 0 && counts.failed === 0) counts.failed = 1;

console.log(
  `${counts.passed} passed, ${counts.failed} failed${counts.skipped > 0 ? `, ${counts.skipped} skipped` : ''}`,
);
process.exit(exitCode !== 0 || counts.failed > 0 || counts.passed === 0 ? 1 : 0);

/** Counts from vitest's jest-style JSON report, or undefined when it is missing or unreadable. */
function readCounts() {
  let report;
  try {
    report = JSON.parse(readFileSync(resultsFile, 'utf8'));
  } catch {
    return undefined;
  }
  // A file that fails to load, or whose beforeAll/afterAll throws, has no failed test but is failed itself.
  const brokenFiles = (report.testResults ?? []).filter(
    (file) => file.status === 'failed' && !(file.assertionResults ?? []).some((test) => test.status === 'failed'),
  ).length;
  return {
    passed: report.numPassedTests ?? 0,
    failed: (report.numFailedTests ?? 0) + brokenFiles,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
  };
}
