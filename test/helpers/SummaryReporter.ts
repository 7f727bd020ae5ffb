import type { Reporter, TestModule } from 'vitest/node';

/** Prints one plain closing line at exit, `tests: N passed, N failed, N skipped`, for CI logs. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      // A file that failed outside its tests (import error, beforeAll) counts as one failure.
      if (module.state() === 'failed' && failedHere === 0) failedHere = 1;
      failed += failedHere;
    }
    // After vitest's own summary: the last line of the run.
    process.once('exit', () => process.stdout.write(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`));
  }
}
