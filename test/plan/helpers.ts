/** Builders and a tiny world model shared by the planner tests. */
import type { DesiredGroup, RolloutPolicy } from '../../src/contract/fleet.ts';
import type { PlannedInstance } from '../../src/plan/types.ts';
import type { GroupStep, PlanContext } from '../../src/plan/types.ts';

export const FLEET = 'prod';
export const OLD = 'aaaaaaaaaaaa';
export const NEW = 'bbbbbbbbbbbb';
export const T0 = 1_800_000_000_000;
/** Image digest of the group's desired template NEW. */
export const DIGEST = `sha256:${'0'.repeat(64)}`;

/** A rollout policy with schema defaults, overridden. */
export function policy(over: Partial<RolloutPolicy> = {}): RolloutPolicy {
  return {
    strategy: 'rolling',
    maxSurge: 1,
    maxUnavailable: 0,
    minReadySeconds: 10,
    progressDeadlineSeconds: 600,
    autoRollback: true,
    pauseBetweenBatchesSeconds: 0,
    keepOldSeconds: 0,
    canary: undefined,
    ...over,
  };
}

/** A desired group named `web` on template NEW. */
export function group(over: Partial<DesiredGroup> & { rollout?: RolloutPolicy } = {}): DesiredGroup {
  return {
    name: 'web',
    provider: 'aws-eu',
    providerType: 'aws',
    image: 'web',
    imageDigest: DIGEST,
    replicas: 3,
    suspend: false,
    zones: ['a', 'b', 'c'],
    template: {} as DesiredGroup['template'],
    templateHash: NEW,
    health: { probe: { kind: 'none' }, gracePeriodSeconds: 300 },
    rollout: policy(),
    source: { file: 'web.yaml', line: 1, col: 1 },
    ...over,
  };
}

let seq = 0;
/** An instance of `web` (ready long ago on OLD unless overridden). */
export function inst(over: Partial<PlannedInstance> = {}): PlannedInstance {
  seq += 1;
  const templateHash = over.templateHash ?? OLD;
  const slot = over.slot ?? seq;
  return {
    id: `i-${String(seq).padStart(5, '0')}`,
    name: `web-${String(templateHash).slice(0, 8)}-${slot}`,
    provider: 'aws-eu',
    zone: 'a',
    state: 'running',
    createdAt: T0 - 3_600_000,
    address: undefined,
    fleet: FLEET,
    group: 'web',
    templateHash,
    imageDigest: undefined,
    revision: undefined,
    slot,
    readySince: T0 - 3_000_000,
    ...over,
  };
}

/** `n` ready OLD instances in slots 0..n-1 spread over a, b, c. */
export function oldSet(n: number, hash = OLD): PlannedInstance[] {
  return Array.from({ length: n }, (_, i) => inst({ templateHash: hash, slot: i, zone: ['a', 'b', 'c'][i % 3] as string }));
}

/** A context at `now`. */
export function ctx(now = T0, failed: Iterable<string> = []): PlanContext {
  return { now, fleet: FLEET, failedTemplates: new Set(failed) };
}

/** Applies a step to a list of instances: deletes terminate, creates launch pending instances. */
export function execute(instances: readonly PlannedInstance[], step: GroupStep, now: number, idPrefix: string): PlannedInstance[] {
  const gone = new Set(step.deletes.map((d) => d.id));
  const out = instances.filter((i) => !gone.has(i.id));
  step.creates.forEach((c, n) => {
    out.push(
      inst({
        id: `${idPrefix}-${n}`,
        templateHash: c.templateHash,
        slot: c.slot,
        zone: c.zone,
        state: 'pending',
        createdAt: now,
        readySince: undefined,
        unhealthySince: undefined,
      }),
    );
  });
  return out;
}

/** Marks every pending/running instance of `hash` ready at `at`. */
export function makeReady(instances: readonly PlannedInstance[], at: number, hash?: string): PlannedInstance[] {
  return instances.map((i) =>
    (hash === undefined || i.templateHash === hash) && (i.state === 'pending' || i.state === 'running') && i.readySince === undefined
      ? { ...i, state: 'running', readySince: at, unhealthySince: undefined }
      : i,
  );
}
