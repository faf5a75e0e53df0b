/**
 * Planner benchmark: one full planning pass over 10,000 groups / 100,000 instances (grouping the
 * inventory by group, planGroup for every group, orphans, the deletion guard). The groups are a mix
 * of steady, mid-rolling, blue-green, canary and drifting ones so every code path runs.
 * Bounds (issue 3): under 1 s wall time and under 300 MB peak memory (process maxRSS).
 * Prints JSON lines + human lines; run with `node test/bench/plan-bench.ts`.
 */
import { resourceUsage } from 'node:process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { DesiredGroup, FleetSettings, RolloutPolicy } from '../../src/contract/fleet.ts';
import { applyDeletionGuard, planGroup, planOrphans } from '../../src/plan/index.ts';
import type { GroupStep, PlannedInstance } from '../../src/plan/index.ts';
import { report } from './report.ts';

const GROUPS = 10_000;
const PER_GROUP = 10;
const NOW = 1_800_000_000_000;
const FLEET = 'bench';
const OLD = 'aaaaaaaaaaaa';
const NEW = 'bbbbbbbbbbbb';
const ZONES = ['z1', 'z2', 'z3'];

const settings: FleetSettings = {
  id: FLEET,
  prune: true,
  deletionGuard: { maxDeletePercent: 30, allowGroupDeletion: [], allowMassDeletion: false },
  source: { file: 'fleet.yaml', line: 1, col: 1 },
};

function rollout(i: number): RolloutPolicy {
  const strategy = i % 10 === 7 ? 'blue-green' : i % 10 === 8 ? 'canary' : 'rolling';
  return {
    strategy,
    maxSurge: i % 2 === 0 ? 1 : '25%',
    maxUnavailable: i % 3 === 0 ? '10%' : 0,
    minReadySeconds: 10,
    progressDeadlineSeconds: 600,
    autoRollback: true,
    pauseBetweenBatchesSeconds: i % 5 === 0 ? 30 : 0,
    keepOldSeconds: 60,
    canary: strategy === 'canary' ? { count: '20%', promote: undefined, bakeSeconds: 300 } : undefined,
  };
}

function makeGroup(i: number): DesiredGroup {
  return {
    name: `g${i}`,
    provider: 'aws-eu',
    providerType: 'aws',
    image: 'web',
    imageDigest: `sha256:${'0'.repeat(64)}`,
    replicas: PER_GROUP,
    suspend: i % 50 === 0,
    zones: ZONES,
    template: {} as DesiredGroup['template'],
    templateHash: NEW,
    health: { probe: { kind: 'none' }, gracePeriodSeconds: 300 },
    rollout: rollout(i),
    source: { file: `g${i}.yaml`, line: 1, col: 1 },
  };
}

function makeInstance(group: number, n: number): PlannedInstance {
  const rolling = group % 10 >= 4; // 60% of groups are mid-rollout: half old, half new
  const hash = rolling && n < PER_GROUP / 2 ? OLD : NEW;
  const drift = group % 10 === 9 && n === 0;
  return {
    id: `i-${group}-${n}`,
    name: `g${group}-${hash.slice(0, 8)}-${n}`,
    provider: 'aws-eu',
    zone: ZONES[n % ZONES.length] as string,
    state: drift ? 'stopped' : 'running',
    createdAt: NOW - 3_600_000 + n * 1000,
    address: undefined,
    fleet: FLEET,
    group: `g${group}`,
    templateHash: hash,
    imageDigest: undefined,
    revision: undefined,
    slot: n,
    readySince: drift || (n === PER_GROUP - 1 && group % 4 === 0) ? undefined : NOW - 3_000_000,
  };
}

function buildInventory(): { groups: DesiredGroup[]; instances: PlannedInstance[] } {
  const groups: DesiredGroup[] = [];
  const instances: PlannedInstance[] = [];
  for (let g = 0; g < GROUPS; g += 1) {
    groups.push(makeGroup(g));
    for (let n = 0; n < PER_GROUP; n += 1) instances.push(makeInstance(g, n));
  }
  return { groups, instances };
}

/** One full pass, as the daemon would run it. Returns a checksum so nothing is optimised away. */
function pass(groups: readonly DesiredGroup[], instances: readonly PlannedInstance[]): number {
  const byGroup = new Map<string, PlannedInstance[]>();
  for (const inst of instances) {
    if (inst.group === undefined) continue;
    const list = byGroup.get(inst.group);
    if (list === undefined) byGroup.set(inst.group, [inst]);
    else list.push(inst);
  }
  const ctx = { now: NOW, fleet: FLEET, failedTemplates: new Set<string>() };
  const steps: GroupStep[] = groups.map((g) => planGroup(g, byGroup.get(g.name) ?? [], ctx));
  const orphans = planOrphans(settings, instances, new Set(groups.map((g) => g.name)));
  const ready = instances.filter((i) => i.state === 'running' && i.readySince !== undefined).length;
  const guarded = applyDeletionGuard(settings, steps, orphans, ready);
  return guarded.steps.reduce((sum, s) => sum + s.creates.length + s.deletes.length, 0);
}

/** A full GC between runs, as the daemon's idle time between passes gives; works without --expose-gc. */
function collect(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

const mib = (bytes: number) => bytes / 2 ** 20;
const baselineMiB = mib(process.memoryUsage().rss);
const { groups, instances } = buildInventory();
collect();
const inventoryMiB = mib(process.memoryUsage().rss);
const coldStart = performance.now();
const actions = pass(groups, instances);
const cold = performance.now() - coldStart;
const onePassMiB = resourceUsage().maxRSS / 1024;
const runs: number[] = [];
for (let i = 0; i < 5; i += 1) {
  collect();
  const start = performance.now();
  pass(groups, instances);
  runs.push(performance.now() - start);
}
const label = `${GROUPS} groups / ${instances.length} instances`;
report({ bench: 'plan', case: label, metric: 'full pass ms (cold, first run)', value: cold, bound: 1000, better: 'lower' });
report({ bench: 'plan', case: label, metric: 'full pass ms (best of 5 warm)', value: Math.min(...runs), bound: 1000, better: 'lower' });
report({
  bench: 'plan',
  case: label,
  metric: 'peak memory MiB through one pass (process maxRSS)',
  value: onePassMiB,
  bound: 300,
  better: 'lower',
});
report({
  bench: 'plan',
  case: label,
  metric: 'peak memory MiB over 6 passes (process maxRSS)',
  value: resourceUsage().maxRSS / 1024,
  bound: 300,
  better: 'lower',
});
console.log(
  `  plan ${label}: ${actions} actions planned; RSS ${Math.round(baselineMiB)} MiB at start (Node + TS loader), ${Math.round(inventoryMiB)} MiB with the inventory built`,
);
