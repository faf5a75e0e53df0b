/**
 * Crash soak: many rounds of the crash harness (test/reliability/crash-harness.ts), each a fresh
 * fleet, simulators, Git repository and seed, SIGKILLing the real `drover run` process CRASH_KILLS
 * times per round (default 40) for CRASH_ROUNDS rounds (default 8), alternating EC2-only rounds and
 * EC2 + GCE rounds (CRASH_GCE=0 or 1 forces one). CRASH_SEED fixes the first round's seed (the others
 * follow from it). Prints one summary line per round; exits 1 on the first violation (with the seed
 * to reproduce it: CRASH_SEED=<seed> CRASH_KILLS=<kills> in test/reliability/crash.test.ts).
 *
 *   npm run soak
 */
import { runCrashRound, seedFromEnv, summary } from '../reliability/crash-harness.ts';

const rounds = Number(process.env['CRASH_ROUNDS'] ?? 8);
const kills = Number(process.env['CRASH_KILLS'] ?? 40);
const forced = process.env['CRASH_GCE'];
const first = seedFromEnv();
const verbose = process.env['CRASH_VERBOSE'] !== undefined;
let total = 0;
const started = performance.now();
for (let round = 0; round < rounds; round++) {
  const seed = (first + round * 0x9e3779b9) >>> 0;
  const gce = forced === undefined || forced === '' ? round % 2 === 1 : forced === '1';
  const report = await runCrashRound({ seed, kills, gce, ...(verbose ? { log: (line: string) => console.log(`  ${line}`) } : {}) });
  total += report.kills;
  console.log(`round ${round + 1}/${rounds} ${summary(report)}`);
  if (report.violations.length > 0) {
    console.error(`VIOLATIONS (reproduce: CRASH_SEED=${seed} CRASH_KILLS=${kills} CRASH_GCE=${gce ? 1 : 0}):\n${report.violations.join('\n')}`);
    process.exit(1);
  }
}
console.log(`soak passed: ${rounds} rounds, ${total} SIGKILLs, ${((performance.now() - started) / 1000).toFixed(0)} s`);
