'use strict';
// Mocha's dot reporter plus one plain closing line, "N passed, N failed, N skipped", which CI
// tooling reads whatever the runner. CommonJS because mocha require()s reporters.
//
// SLOWEST_TEST_FILES=N also prints, before that line, the N slowest test files: the time each spent
// in its tests and hooks (module loading aside), and when its results reached the runner (seconds
// since the run began; with --parallel a file's results arrive at once when it ends), so the
// files that bound the wall time and the balance of the parallel jobs can be read off one run.
// (Not a DROVER_* name: drover reads every DROVER_* variable as configuration and refuses unknown ones.)
const Mocha = require('mocha');

const { Dot } = Mocha.reporters;
const { EVENT_RUN_BEGIN, EVENT_RUN_END, EVENT_TEST_END, EVENT_HOOK_END } = Mocha.Runner.constants;

class SummaryReporter extends Dot {
  constructor(runner, options) {
    super(runner, options);
    const slowest = Number(process.env.SLOWEST_TEST_FILES ?? 0);
    if (slowest > 0) timeFiles(runner, slowest);
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      process.stdout.write(`${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}

/** Sums each file's test and hook durations; prints the `count` largest when the run ends. */
function timeFiles(runner, count) {
  const files = new Map();
  let began = performance.now();
  const add = (runnable) => {
    const file = runnable.file ?? runnable.parent?.file ?? '(unknown)';
    const entry = files.get(file) ?? { ms: 0, tests: 0, endedAt: 0 };
    entry.ms += runnable.duration ?? 0;
    entry.endedAt = performance.now() - began;
    files.set(file, entry);
    return entry;
  };
  runner.once(EVENT_RUN_BEGIN, () => (began = performance.now()));
  runner.on(EVENT_HOOK_END, add);
  runner.on(EVENT_TEST_END, (test) => add(test).tests++);
  runner.once(EVENT_RUN_END, () => {
    const cwd = process.cwd() + '/';
    const rows = [...files].sort((a, b) => b[1].ms - a[1].ms).slice(0, count);
    process.stdout.write(`\nslowest ${rows.length} test files (tests + hooks; results at, since start):\n`);
    for (const [file, e] of rows) {
      const name = file.startsWith(cwd) ? file.slice(cwd.length) : file;
      process.stdout.write(
        `  ${(e.ms / 1000).toFixed(1).padStart(6)} s  ${String(e.tests).padStart(4)} tests  at ${(e.endedAt / 1000).toFixed(0).padStart(4)} s  ${name}\n`,
      );
    }
  });
}

module.exports = SummaryReporter;
