/**
 * Tamper detection end to end, per cloud: an instance changed by hand through the simulator's
 * control API (`POST /_sim/actions { action: 'modify' }`) is found by the next pass on the real
 * SDK client's listing, then replaced under the group's rollout limits (judged from the
 * simulator's record of the world: every live instance counted), or, with `drift.modified:
 * report`, reported (condition Tampered=True and the InstancesTampered event) without a single
 * mutating call in the simulator's log.
 */
import assert from 'node:assert/strict';
import { Agent, fetch } from 'undici';
import { eventsFrom } from '../../src/notify/events.ts';
import type { GroupStep } from '../../src/plan/index.ts';
import { maxLiveBetween, minReadyBetween } from '../../src/sim/capacity.ts';
import type { CloudSim, TestCloud } from '../clouds/types.ts';
import { convergedInWorld, startHarness, type Harness } from '../helpers/harness.ts';

/** One change made by hand, and the fields drover must name for it. */
export interface Tampering {
  readonly title: string;
  /** The simulator's `changes` (its README lists the keys). */
  readonly changes: Readonly<Record<string, unknown>>;
  /** Fields the Tampered message names for this change. */
  readonly fields: readonly string[];
  /** A value that must never show in a condition or event (a secret, e.g. metadata). */
  readonly secret?: string;
}

/** One call to the simulator's control API, as any client outside the process would make it (https simulators: their CA trusted). */
async function simControl(sim: CloudSim, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const ca = (sim as { ca?: string }).ca ?? (sim as { caPem?: string }).caPem;
  const response = await fetch(`${sim.url.replace(/\/$/, '')}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    ...(ca === undefined ? {} : { dispatcher: new Agent({ connect: { ca } }) }),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text) as unknown;
}

/** Sends one out-of-band action (`POST /_sim/actions`). */
export function simAction(sim: CloudSim, body: unknown): Promise<unknown> {
  return simControl(sim, 'POST', '/_sim/actions', body);
}

/** The mutating calls the simulator logged after sequence `since` (`GET /_sim/mutating-calls`). */
async function mutatingCalls(sim: CloudSim, since: number): Promise<{ seq: number; action: string }[]> {
  return ((await simControl(sim, 'GET', `/_sim/mutating-calls?since=${since}`)) as { calls: { seq: number; action: string }[] }).calls;
}

/** The group's own tags (labels): a change to one of them is a modification. */
const GROUP_TAGS = '{ team: web }';
const ROLLOUT = '{ maxSurge: 1, maxUnavailable: 0, minReadySeconds: 0, progressDeadlineSeconds: 600 }';

function stepOf(result: { guarded: { steps: readonly GroupStep[] } }): GroupStep {
  const step = result.guarded.steps.find((s) => s.group === 'web');
  assert.ok(step, 'the group was planned');
  return step;
}

function snapshot(step: GroupStep) {
  return {
    name: step.group,
    replicas: step.status.replicas,
    desiredTemplateHash: step.status.desiredTemplateHash,
    conditions: step.status.conditions,
  };
}

/**
 * Registers the tamper scenarios for `adapter`; `tamperings` are the cloud's own changes;
 * `placement`: the group's machine and placement lines when the adapter's default leaves a compared
 * field to the cloud's defaults (an EC2 subnet or security groups).
 */
export function describeTamperScenarios(title: string, adapter: TestCloud, tamperings: readonly Tampering[], placement?: string): void {
  const own = placement === undefined ? {} : { placement };
  describe(`e2e ${title}: instances modified out of band`, function () {
    this.timeout(120_000);
    let h: Harness | undefined;
    afterEach(async () => {
      await h?.close();
      h = undefined;
    });

    for (const tampering of tamperings) {
      it(`${tampering.title}: found by the next pass and replaced within replicas + maxSurge, never below replicas ready`, async () => {
        const harness = (h = await startHarness(adapter, [{ name: 'web', replicas: 3, rollout: ROLLOUT, tags: GROUP_TAGS, ...own }]));
        await harness.runUntil((_, state) => convergedInWorld(harness, state));
        const victim = harness.liveByGroup().get('web')![1]!;
        const since = harness.sim.engine.clock.now();
        await simAction(harness.sim, { action: 'modify', instanceId: victim.id, changes: tampering.changes });
        const next = stepOf(await harness.pass());
        assert.equal(
          next.creates.length,
          1,
          `the very next pass launches its replacement (maxSurge 1): ${JSON.stringify(next.status.conditions)}`,
        );
        assert.equal(next.status.conditions.find((c) => c.type === 'Progressing')?.reason, 'Replacing');
        await harness.runUntil(
          (_, state) =>
            convergedInWorld(harness, state) &&
            !harness
              .liveByGroup()
              .get('web')!
              .some((i) => i.id === victim.id),
        );
        const live = harness.liveByGroup().get('web')!;
        assert.equal(live.length, 3);
        assert.ok(!live.some((i) => i.id === victim.id), 'the modified instance is gone');
        const capacity = harness.capacity().get('web')!;
        assert.equal(minReadyBetween(capacity, since), 3, 'maxUnavailable 0: 3 ready throughout (every live instance counted)');
        assert.ok(maxLiveBetween(capacity, since) <= 4, 'never more than replicas + maxSurge alive');
        const quiet = stepOf(await harness.pass());
        assert.deepEqual([quiet.creates.length, quiet.deletes.length], [0, 0], 'the replacement is not itself found modified');
      });
    }

    it('drift.modified report: Tampered=True naming the instance and fields, an InstancesTampered event, and no mutating call', async () => {
      const groups = [{ name: 'web', replicas: 2, rollout: ROLLOUT, tags: GROUP_TAGS, drift: '{ modified: report }', ...own }];
      const harness = (h = await startHarness(adapter, groups));
      await harness.runUntil((_, state) => convergedInWorld(harness, state));
      // One more pass: the group's status catches up with the world (its scale-up from 0 ends with
      // RolloutFinished), so the only event of the modification is its own.
      const settled = stepOf(await harness.pass());
      const victim = harness.liveByGroup().get('web')![0]!;
      const all = tamperings.reduce<Record<string, unknown>>((acc, t) => ({ ...acc, ...t.changes }), {});
      await simAction(harness.sim, { action: 'modify', instanceId: victim.id, changes: all });
      const mark = Math.max(0, ...(await mutatingCalls(harness.sim, 0)).map((m) => m.seq));
      const result = await harness.pass();
      const found = stepOf(result);
      // drover's id of the victim (an ARM resource id on Azure, `node/vmid` on Proxmox; the world's id elsewhere).
      const name = harness.sim.world.get(victim.id)?.name;
      const listed = result.observations.flatMap((o) => (o.ok ? o.instances : [])).find((i) => i.id === victim.id || i.name === name);
      assert.ok(listed, 'the victim is listed');
      const tampered = found.status.conditions.find((c) => c.type === 'Tampered');
      assert.equal(tampered?.status, 'True', JSON.stringify(found.status.conditions));
      assert.equal(tampered?.reason, 'Modified');
      assert.ok(tampered?.message.includes(listed.id), tampered?.message);
      for (const field of tamperings.flatMap((t) => t.fields))
        assert.ok(tampered?.message.includes(field), `${field} in ${tampered?.message}`);
      for (const secret of tamperings.flatMap((t) => (t.secret === undefined ? [] : [t.secret])))
        assert.ok(!tampered?.message.includes(secret), 'no secret value in the condition');
      const events = eventsFrom(snapshot(settled), snapshot(found), { fleet: 'e2e', at: new Date(0).toISOString() });
      assert.deepEqual(
        events.map((e) => [e.kind, e.reason]),
        [['InstancesTampered', 'Modified']],
      );
      for (let i = 0; i < 3; i++) {
        const again = stepOf(await harness.pass());
        assert.deepEqual([again.creates, again.deletes], [[], []]);
      }
      assert.ok(mark > 0, 'the log holds the launches');
      assert.deepEqual(await mutatingCalls(harness.sim, mark), [], 'no mutating call after the modification (the simulator log)');
      assert.ok(
        harness
          .liveByGroup()
          .get('web')!
          .some((i) => i.id === victim.id),
        'the modified instance is still there',
      );
    });
  });
}
