/**
 * Loader benchmark: time to load and validate generated repositories of 1,000 and 10,000 groups.
 * Bound: 1,000 groups well under 1 s (the foundation issue); 10,000 groups under 5 s.
 * Prints one JSON line per size and a human line; run with `node test/bench/loader-bench.ts`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateFleet } from '../../fixtures/generate-fleet.ts';
import { loadFleet } from '../../src/desired/load.ts';
import { report } from './report.ts';

const SIZES = [
  { groups: 1_000, boundMs: 1_000 },
  { groups: 10_000, boundMs: 5_000 },
];

for (const { groups, boundMs } of SIZES) {
  const dir = await mkdtemp(path.join(tmpdir(), 'drover-bench-fleet-'));
  try {
    await generateFleet(dir, { groups });
    await loadFleet(dir); // warm-up: schema compilation, JIT
    const runs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      const result = await loadFleet(dir);
      runs.push(performance.now() - start);
      if (!result.ok) throw new Error(`generated fleet is invalid: ${result.problems[0]?.message}`);
    }
    const best = Math.min(...runs);
    report({
      bench: 'loader',
      case: `${groups} groups`,
      metric: 'load+validate ms (best of 3)',
      value: best,
      bound: boundMs,
      better: 'lower',
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
