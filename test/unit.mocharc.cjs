'use strict';
// `npm run unit`: the settings of .mocharc.json plus --parallel --jobs 2 and every
// test/**/*.test.ts, the slowest files first. Mocha hands the files to its two workers in list
// order, so a long file queued late (the HA suites sort near the end) runs alone while the other
// worker sits idle; queued first, the long files run side by side and the many short ones fill
// the gaps (longest first). SLOWEST is a list of globs from `SLOWEST_TEST_FILES=20 npm run unit`
// (test/summary-reporter.cjs prints them); a file not listed simply runs in alphabetical order.
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const SLOWEST = [
  'test/reliability/ha-kill.test.ts',
  'test/reliability/ha-pause.test.ts',
  'test/reliability/ha-spread.test.ts',
  'test/reliability/ha-etcd.test.ts',
  'test/reliability/ha-cut.test.ts',
  'test/reliability/crash*.test.ts',
  'test/reliability/faults/*.test.ts',
  'test/reliability/secrets*.test.ts',
  'test/web/browser*.test.ts',
  'test/e2e/*.test.ts',
  'test/reliability/*.test.ts',
  'test/cli/*.test.ts',
  'test/ha/*.test.ts',
];

const glob = (pattern) => fs.globSync(pattern, { cwd: root }).sort();
const all = glob('test/**/*.test.ts');
const first = [...new Set(SLOWEST.flatMap(glob))];
const rest = all.filter((file) => !first.includes(file));

module.exports = {
  ...JSON.parse(fs.readFileSync(path.join(root, '.mocharc.json'), 'utf8')),
  parallel: true,
  jobs: 2,
  spec: [...first, ...rest],
};
