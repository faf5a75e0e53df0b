'use strict';
// Mocha's dot reporter plus one plain closing line, "N passed, N failed, N skipped", which CI
// tooling reads whatever the runner. CommonJS because mocha require()s reporters.
const Mocha = require('mocha');

const { Dot } = Mocha.reporters;
const { EVENT_RUN_END } = Mocha.Runner.constants;

class SummaryReporter extends Dot {
  constructor(runner, options) {
    super(runner, options);
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      process.stdout.write(`${passes} passed, ${failures} failed, ${pending} skipped\n`);
    });
  }
}

module.exports = SummaryReporter;
