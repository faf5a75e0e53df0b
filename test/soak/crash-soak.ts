/**
 * Crash soak: many rounds of the crash harness (test/reliability/crash-harness.ts), each a fresh
 * fleet, simulators, Git repository and seed, SIGKILLing the real `drover run` process CRASH_KILLS
 * times per round (default 40) for CRASH_ROUNDS rounds (default 8). Rounds rotate over cloud sets so
 * that every cloud is covered every four rounds: EC2 alone, EC2 + GCE, EC2 + Azure + Proxmox, then
 * all four clouds at once. CRASH_CLOUDS (`gcp,azure`, `all`, …; EC2 is always in) forces one set
 * for every round (CRASH_GCE=0 or 1 as before: EC2 alone or EC2 + GCE). CRASH_SEED fixes the first
 * round's seed (the others follow from it). Prints one summary line per round; exits 1 on the first
 * violation, with the seed and clouds to reproduce it in test/reliability/crash.test.ts
 * (CRASH_SEED=<seed> CRASH_KILLS=<kills> CRASH_CLOUDS=<clouds>: the first round there takes them).
 *
 *   npm run soak
 */
import { parseClouds } from '../reliability/crash-clouds.ts';
import type { Cloud } from '../reliability/crash-clouds.ts';
import { runCrashRound, seedFromEnv, summary } from '../reliability/crash-harness.ts';

const ROTATION: readonly (readonly Cloud[])[] = [['aws'], ['aws', 'gcp'], ['aws', 'azure', 'proxmox'], ['aws', 'gcp', 'azure', 'proxmox']];
const rounds = Number(process.env['CRASH_ROUNDS'] ?? 8);
const kills = Number(process.env['CRASH_KILLS'] ?? 40);
const legacy = process.env['CRASH_GCE'];
const forced =
  legacy === '1'
    ? (['aws', 'gcp'] as Cloud[])
    : legacy === '0'
      ? (['aws'] as Cloud[])
      : process.env['CRASH_CLOUDS']
        ? parseClouds(process.env['CRASH_CLOUDS'])
        : undefined;
const first = seedFromEnv();
const verbose = process.env['CRASH_VERBOSE'] !== undefined;
let total = 0;
const started = performance.now();
for (let round = 0; round < rounds; round++) {
  const seed = (first + round * 0x9e3779b9) >>> 0;
  const clouds = forced ?? ROTATION[round % ROTATION.length]!;
  const report = await runCrashRound({ seed, kills, clouds, ...(verbose ? { log: (line: string) => console.log(`  ${line}`) } : {}) });
  total += report.kills;
  console.log(`round ${round + 1}/${rounds} ${summary(report)}`);
  if (report.violations.length > 0) {
    console.error(
      `VIOLATIONS (reproduce: CRASH_SEED=${seed} CRASH_KILLS=${kills} CRASH_CLOUDS=${clouds.join(',')}):\n${report.violations.join('\n')}`,
    );
    process.exit(1);
  }
}
console.log(`soak passed: ${rounds} rounds, ${total} SIGKILLs, ${((performance.now() - started) / 1000).toFixed(0)} s`);
