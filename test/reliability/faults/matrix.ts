/**
 * The fault matrix (issue 10): for one cloud, every fault kind injected into a digest-bump rollout of
 * two groups with different rollout settings, judged from the simulator's world and timeline only.
 * One table of faults; each cloud's test file runs it with its adapter and its own extra rows.
 *
 * Every cell asserts, from the rollout start on:
 * - ready capacity of each group never below replicas − maxUnavailable (minReadyBetween);
 * - live instances of each group never above replicas + maxSurge (maxLiveBetween);
 * - instances launched by drover's API during the rollout = the new slots (+ the launches a
 *   launch fault is allowed to waste): retries never duplicate a slot;
 * - every instance that ever ran, and every live one at the end, carries all ownership records;
 * - convergence: each group has exactly one running instance of the new template per slot.
 */
import assert from 'node:assert/strict';
import { maxLiveBetween, minReadyBetween } from '../../../src/sim/capacity.ts';
import type { FaultRuleInput } from '../../../src/sim/faults.ts';
import type { Latencies } from '../../../src/sim/world.ts';
import type { DesiredState } from '../../../src/contract/fleet.ts';
import type { PassResult } from '../../../src/reconcile/pass.ts';
import { convergedInWorld, FLEET, startHarness } from '../../helpers/harness.ts';
import type { TestCloud } from '../../clouds/types.ts';
import type { GroupSpec, Harness } from '../../helpers/harness.ts';

/** Sim speed of the matrix: a 20 s boot takes 20 ms. */
export const MATRIX_FACTOR = 1000;

/** The rollout every cell runs: a surge-only group and a delete-first group. */
export const MATRIX_GROUPS: readonly (GroupSpec & { readonly maxSurge: number; readonly maxUnavailable: number })[] = [
  {
    name: 'web',
    replicas: 3,
    maxSurge: 1,
    maxUnavailable: 0,
    rollout: '{ maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0, progressDeadlineSeconds: 600 }',
  },
  {
    name: 'api',
    replicas: 2,
    maxSurge: 0,
    maxUnavailable: 1,
    rollout: '{ maxSurge: 0, maxUnavailable: 1, minReadySeconds: 0, progressDeadlineSeconds: 600 }',
  },
];

/** Cloud action names the table needs. */
export type MatrixActions = TestCloud['actions'];

/** One row of the matrix. */
export interface FaultCase {
  readonly name: string;
  /** Rules added at the rollout start. */
  readonly rules?: (actions: MatrixActions) => readonly FaultRuleInput[];
  /** Latencies patched at the rollout start. */
  readonly latencies?: Partial<Latencies>;
  /** Launches the faults may waste beyond the ones the cloud visibly failed (e.g. a clone stuck forever). */
  readonly wastedLaunches?: number;
  /** Runs before the rollout (after the first convergence), e.g. to set cloud-specific state. */
  readonly setup?: (h: Harness) => void;
  /** Called after every rollout pass with the pass number (1-based) and its result, e.g. to lift a lock. */
  readonly onPass?: (h: Harness, pass: number, result: PassResult) => void;
  /** Extra checks after convergence. */
  readonly check?: (h: Harness, rolloutStart: number) => void;
}

/** The rows every cloud runs. */
export const COMMON_FAULTS: readonly FaultCase[] = [
  { name: '5xx burst on every action', rules: () => [{ kind: 'error', status: 500, count: 12 }] },
  {
    name: '503 on create, list and delete',
    rules: (a) => [{ kind: 'error', status: 503, actions: [a.create, a.list, a.destroy], count: 6 }],
  },
  // Kept short: each GCE 403 rateLimitExceeded takes the @google-cloud/compute REST client about 1 s of wall time to reject.
  { name: 'throttling storm', rules: () => [{ kind: 'throttle', probability: 0.7, count: 6 }] },
  {
    name: 'hang (no answer) until the client deadline',
    rules: (a) => [
      { kind: 'hang', actions: [a.create], count: 1 },
      { kind: 'hang', actions: [a.list, a.destroy], count: 1 },
    ],
  },
  { name: 'create response dropped after the side effect', rules: (a) => [{ kind: 'drop-after', actions: [a.create], count: 3 }] },
  { name: 'delete response dropped after the side effect', rules: (a) => [{ kind: 'drop-after', actions: [a.destroy], count: 3 }] },
  {
    name: 'create and delete answered never (hang-after)',
    rules: (a) => [
      { kind: 'hang-after', actions: [a.create], count: 1 },
      { kind: 'hang-after', actions: [a.destroy], count: 1 },
    ],
  },
  { name: 'list lagging behind creates', latencies: { listLagMs: 120_000 } },
  {
    name: 'random faults on every action (seeded)',
    rules: () => [
      { kind: 'error', status: 500, probability: 0.1, count: 15 },
      { kind: 'throttle', probability: 0.1, count: 15 },
      { kind: 'drop-after', probability: 0.1, count: 8 },
    ],
  },
];

/** Events of the timeline after the rollout start. */
function since(h: Harness, at: number) {
  return h.sim.world.events().filter((e) => e.at >= at);
}

/** Runs the rollout of one cell and asserts the invariants. */
export async function runFaultCase(adapter: TestCloud, row: FaultCase): Promise<Harness> {
  const h = await startHarness(adapter, MATRIX_GROUPS, { factor: MATRIX_FACTOR });
  try {
    let initial: DesiredState | undefined;
    await h.runUntil((_, s) => convergedInWorld(h, (initial = s)), 60);
    assert.ok(initial !== undefined && convergedInWorld(h, initial), 'the fleet converged on build 1 before the faults');
    row.setup?.(h);
    const rolloutStart = h.sim.engine.clock.now();
    const rules = (row.rules?.(adapter.actions) ?? []).map((rule) => h.sim.faults.add(rule));
    if (row.latencies) h.sim.world.setLatencies(row.latencies);
    h.addBuild(2);
    await h.writeFleet(MATRIX_GROUPS, 2);
    let passes = 0;
    let state: DesiredState | undefined;
    await h.runUntil((r, s) => {
      passes += 1;
      row.onPass?.(h, passes, r);
      state = s;
      return convergedInWorld(h, s);
    }, 120);
    assert.ok(
      state !== undefined && convergedInWorld(h, state),
      `converged under "${row.name}" (passes: ${passes}, live: ${describeLive(h)})`,
    );
    assertInvariants(h, adapter, rolloutStart, row);
    for (const rule of rules.filter((r) => r.probability === undefined))
      assert.ok(rule.fired > 0, `${row.name}: the ${rule.kind} rule on ${rule.actions?.join(',') ?? 'every action'} fired`);
    const random = rules.filter((r) => r.probability !== undefined);
    assert.ok(random.length === 0 || random.some((r) => r.fired > 0), `${row.name}: some random fault fired`);
    row.check?.(h, rolloutStart);
    return h;
  } catch (error) {
    await h.close();
    throw error;
  }
}

function describeLive(h: Harness): string {
  return JSON.stringify(
    Object.fromEntries(
      [...h.liveByGroup()].map(([g, list]) => [g, list.map((i) => `${i.id}:${i.state}:${i.slot}:${i.template.slice(0, 6)}`)]),
    ),
  );
}

/** The invariants, from the world's record. */
export function assertInvariants(
  h: Harness,
  adapter: TestCloud,
  rolloutStart: number,
  row: Pick<FaultCase, 'name' | 'wastedLaunches'>,
): void {
  const capacity = h.capacity();
  const events = since(h, rolloutStart);
  // Instances whose launch the cloud accepted and then failed on its own (an Azure allocation failing
  // after the PUT): recorded by the simulator as failed operations on them.
  const failedByCloud = new Set(
    h.sim.engine.operations
      .list()
      .flatMap((op) =>
        op.error !== undefined && op.error.code !== 'OperationPreempted' && op.targetId !== undefined ? [op.targetId] : [],
      ),
  );
  for (const g of MATRIX_GROUPS) {
    const cap = capacity.get(g.name);
    assert.ok(cap !== undefined, `${g.name} has a capacity record`);
    // The bound holds through drover's own deletions; a running instance the cloud itself failed
    // (an Azure allocation failing after the VM booted) is not drover's doing.
    const lostToCloud = new Set(
      events
        .filter((e) => e.from === 'running' && failedByCloud.has(e.instanceId) && e.tags[adapter.tags.group] === g.name)
        .map((e) => e.instanceId),
    ).size;
    const minReady = minReadyBetween(cap, rolloutStart) + lostToCloud;
    const maxLive = maxLiveBetween(cap, rolloutStart);
    assert.ok(
      minReady >= g.replicas - g.maxUnavailable,
      `${row.name}: ${g.name} ready fell to ${minReady} < ${g.replicas} − ${g.maxUnavailable}`,
    );
    assert.ok(maxLive <= g.replicas + g.maxSurge, `${row.name}: ${g.name} had ${maxLive} live > ${g.replicas} + ${g.maxSurge}`);
  }
  const live = h.liveByGroup();
  for (const g of MATRIX_GROUPS) {
    const slots = (live.get(g.name) ?? []).map((i) => i.slot);
    assert.deepEqual(
      [...slots].sort(),
      Array.from({ length: g.replicas }, (_, i) => String(i)),
      `${row.name}: ${g.name} holds one live instance per slot`,
    );
  }
  const launched = new Set(events.filter((e) => e.from === null && e.cause === 'api').map((e) => e.instanceId));
  const slots = MATRIX_GROUPS.reduce((n, g) => n + g.replicas, 0);
  // A launch the cloud failed on its own is replaced, not duplicated: it may be wasted.
  const wasted = (row.wastedLaunches ?? 0) + [...launched].filter((id) => failedByCloud.has(id)).length;
  if (launched.size < slots || launched.size > slots + wasted) {
    const story = [...launched].map(
      (id) =>
        `${id}: ${events
          .filter((e) => e.instanceId === id)
          .map(
            (e) =>
              `${e.to}@${e.at - rolloutStart}[${e.tags[adapter.tags.group] ?? ''}/${e.tags[adapter.tags.slot] ?? ''}/${(e.tags[adapter.tags.template] ?? '').slice(0, 6)}]`,
          )
          .join(' ')}`,
    );
    assert.fail(
      `${row.name}: drover launched ${launched.size} instances for ${slots} new slots (allowed waste ${wasted}):\n${story.join('\n')}`,
    );
  }
  const fields = ['fleet', 'group', 'template', 'slot'] as const;
  const owned = (tags: Readonly<Record<string, string>>) =>
    tags[adapter.tags.fleet] === FLEET && fields.every((f) => (tags[adapter.tags[f]] ?? '') !== '');
  for (const e of events) {
    if (e.to === 'running' && launched.has(e.instanceId))
      assert.ok(owned(e.tags), `${row.name}: ${e.instanceId} ran without its ownership records: ${JSON.stringify(e.tags)}`);
  }
  const unowned = h.sim.world
    .list()
    .filter((i) => i.state !== 'terminated' && i.state !== 'terminating' && launched.has(i.id) && !owned(i.tags) && !lockedByClone(i));
  assert.deepEqual(
    unowned.map((i) => i.id),
    [],
    `${row.name}: live instances without an owner record`,
  );
}

/** A Proxmox VM left in `lock: clone` by a dead clone worker: it has no tags yet, by design; it is reported, never touched. */
function lockedByClone(instance: { readonly attributes: Readonly<Record<string, unknown>> }): boolean {
  const config = instance.attributes['config'];
  return typeof config === 'object' && config !== null && (config as Record<string, unknown>)['lock'] === 'clone';
}

/** Registers the matrix for one cloud: COMMON_FAULTS plus the cloud's own rows. */
export function describeFaultMatrix(title: string, adapter: TestCloud, extra: readonly FaultCase[] = []): void {
  describe(`fault matrix ${title}: rollout invariants under injected faults`, function () {
    this.timeout(60_000);
    let h: Harness | undefined;
    afterEach(async () => {
      await h?.close();
      h = undefined;
    });
    for (const row of [...COMMON_FAULTS, ...extra]) {
      it(row.name, async () => {
        h = await runFaultCase(adapter, row);
      });
    }
  });
}
