/**
 * GCE-specific end-to-end cases beyond the shared scenarios, through drover's real pass with the
 * real client: one aggregatedList per pass, a resource quota that blocks a rollout's surge (insert
 * operations DONE with QUOTA_EXCEEDED) until it is raised, and a zone outage during which drover
 * does not act on a partial inventory.
 */
import assert from 'node:assert/strict';
import { loadFleet } from '../../../src/desired/load.ts';
import type { DesiredState } from '../../../src/contract/fleet.ts';
import { DaemonMetrics } from '../../../src/status/metrics.ts';
import { StatusStore } from '../../../src/status/status-store.ts';
import type { PassResult } from '../../../src/reconcile/pass.ts';
import { maxLiveBetween, minReadyBetween } from '../../../src/sim/capacity.ts';
import type { GceSimulator } from '../../../providers/gcp/sim.ts';
import { gcp } from '../../clouds/gcp.ts';
import { convergedInWorld, FLEET, startHarness, type Harness } from '../../helpers/harness.ts';

function converged(harness: Harness): (_: unknown, state: DesiredState) => boolean {
  return (_, state) => convergedInWorld(harness, state);
}

const stalled = (result: PassResult) =>
  result.guarded.steps.find((st) => st.group === 'web')!.status.conditions.find((c) => c.type === 'Stalled')!;

describe('e2e gcp: GCE-specific behaviour through drover passes', function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('observes the whole project with one aggregatedList per pass', async () => {
    h = await startHarness(gcp, [
      { name: 'web', replicas: 3 },
      { name: 'api', replicas: 2 },
    ]);
    const harness = h;
    await harness.runUntil(converged(harness));
    harness.sim.engine.calls.clear();
    await harness.pass();
    assert.deepEqual(harness.sim.engine.calls.counts(), { 'compute.instances.aggregatedList': 1 });
  });

  it('a resource quota blocking the surge holds the rollout (capacity kept) until it is raised, without duplicates', async () => {
    h = await startHarness(gcp, [{ name: 'web', replicas: 3 }]);
    const harness = h;
    const sim = harness.sim as GceSimulator;
    await harness.runUntil(converged(harness));
    sim.settings.instanceQuota = 3;
    const start = sim.clock.now();
    harness.addBuild(2);
    await harness.writeFleet([{ name: 'web', replicas: 3 }], 2);
    const blocked = await harness.pass();
    const failed = blocked.actions.filter((a) => a.kind === 'create' && a.error !== undefined);
    assert.ok(failed.length > 0, 'the surge create failed');
    assert.ok(
      failed.every((a) => a.error?.reason === 'QUOTA_EXCEEDED'),
      JSON.stringify(failed.map((a) => a.error?.reason)),
    );
    assert.deepEqual(
      [stalled(blocked).status, stalled(blocked).reason],
      ['True', 'QUOTA_EXCEEDED'],
      'a quota needs a human: the group says Stalled',
    );
    assert.match(stalled(blocked).message, /^create web-[0-9a-f]{8}-\d+: .*fix it in Git or in the cloud account/);
    await harness.pass();
    assert.equal(harness.liveByGroup().get('web')?.length, 3, 'nothing deleted while the surge is refused');
    sim.settings.instanceQuota = 4;
    const last = await harness.runUntil(converged(harness));
    assert.equal(stalled(last).status, 'False', 'retried by itself once the quota was raised; no longer stalled');
    const web = harness.capacity().get('web')!;
    assert.equal(minReadyBetween(web, start), 3, 'maxUnavailable 0 held throughout');
    assert.ok(maxLiveBetween(web, start) <= 4);
    const launched = sim.world.events().filter((e) => e.from === null && e.tags['drover-fleet'] === FLEET);
    assert.equal(launched.length, 6, 'three old and three new, never a duplicate');
  });

  it('instances being deleted (STOPPING) count against surge until gone: a surge rollout at the quota never meets QUOTA_EXCEEDED', async () => {
    h = await startHarness(gcp, [{ name: 'web', replicas: 3 }]);
    const harness = h;
    const sim = harness.sim as GceSimulator;
    await harness.runUntil(converged(harness));
    sim.settings.instanceQuota = 4; // replicas + maxSurge: GCE counts STOPPING instances against it
    const start = sim.clock.now();
    harness.addBuild(2);
    await harness.writeFleet([{ name: 'web', replicas: 3 }], 2);
    const failed: string[] = [];
    await harness.runUntil((r, state) => {
      failed.push(...r.actions.filter((a) => a.error !== undefined).map((a) => a.error!.reason));
      return convergedInWorld(harness, state);
    });
    assert.deepEqual(failed, [], 'no create refused by the quota');
    const web = sim.world.events().filter((e) => e.at >= start && e.tags['drover-group'] === 'web');
    const state = new Map<string, string>();
    let most = 0;
    for (const e of sim.world.events().filter((x) => x.tags['drover-group'] === 'web')) {
      state.set(e.instanceId, e.to);
      if (e.at >= start) most = Math.max(most, [...state.values()].filter((s) => s !== 'terminated').length);
    }
    assert.ok(web.length > 0);
    assert.equal(most, 4, 'at most replicas + maxSurge instances not gone, STOPPING ones included');
  });

  it('under list lag, an insert re-sent for a slot whose instance exists is an idempotent replay, not a second create', async () => {
    h = await startHarness(gcp, [{ name: 'web', replicas: 2 }]);
    const harness = h;
    const sim = harness.sim as GceSimulator;
    sim.world.setLatencies({ listLagMs: 60_000 });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(...(await harness.pass()).actions.filter((a) => a.kind === 'create'));
    const launched = sim.world.events().filter((e) => e.from === null && e.tags['drover-fleet'] === FLEET).length;
    assert.equal(launched, 2, 'no duplicate: the request ids held');
    assert.ok(results.length > launched, `the creates were re-sent while the list lagged (${results.length} sent)`);
    assert.equal(
      results.filter((a) => a.error === undefined && a.replayed !== true).length,
      launched,
      'each instance counted as created exactly once',
    );
    assert.equal(results.filter((a) => a.replayed === true).length, results.length - launched);
  });

  it('a zone outage (aggregatedList UNREACHABLE): groups whose zones all listed still act, groups in the lost zone wait and say why', async () => {
    const apiPlacement = '  machine: { type: e2-standard-2 }\n  placement: { zones: [europe-west1-b, europe-west1-c] }\n';
    h = await startHarness(gcp, [
      { name: 'web', replicas: 3 },
      { name: 'api', replicas: 2, placement: apiPlacement },
    ]);
    const harness = h;
    const sim = harness.sim as GceSimulator;
    await harness.runUntil(converged(harness));
    const live = harness.liveByGroup();
    const before = sim.world.all().length;
    const loaded = await loadFleet(harness.dir);
    assert.ok(loaded.ok);
    const status = new StatusStore();
    const metrics = new DaemonMetrics();
    const record = async (result: PassResult) => {
      await status.recordPass(loaded.state, result, new Set());
      metrics.pass(
        'gcp',
        result,
        result,
        result.skipped.flatMap((s) => status.get(s.group) ?? []),
      );
    };
    await record(await harness.pass());
    assert.equal(status.get('web')?.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    sim.settings.unreachableZones = ['europe-west1-d'];
    sim.world.terminate(live.get('api')![0]!.id, 'out-of-band');
    sim.world.terminate(live.get('web')!.find((i) => sim.world.get(i.id)?.zone !== 'europe-west1-d')!.id, 'out-of-band');
    const outage = await harness.pass();
    // B1 (attack on issue 18): web is not claimed Ready from a listing that missed a zone, and keeps its series.
    await record(outage);
    const web = status.get('web')!;
    assert.deepEqual(
      ['Ready', 'Degraded'].map((t) => web.conditions.find((c) => c.type === t)?.status),
      ['Unknown', 'Unknown'],
    );
    assert.equal(web.conditions.find((c) => c.type === 'Ready')?.reason, 'ZonesNotListed');
    const text = await metrics.registry.metrics();
    assert.match(text, /drover_group_condition\{group="web",type="Ready",status="Unknown"\} 1/);
    assert.match(text, /drover_instances\{group="web",template="[0-9a-f]+",state="running"\} 3/, 'its last counts stay');
    assert.deepEqual(
      outage.actions.filter((a) => a.kind === 'create').map((a) => [a.group, a.error?.reason]),
      [['api', undefined]],
      'api (zones b, c all listed) replaced its lost instance',
    );
    assert.ok(
      outage.actions.every((a) => a.group === 'api'),
      'web (zone d did not list) did nothing',
    );
    const skipped = outage.skipped.find((s) => s.group === 'web');
    assert.equal(skipped?.error.reason, 'ZonesNotListed');
    assert.match(skipped!.error.message, /europe-west1-d/);
    assert.ok(!outage.skipped.some((s) => s.group === 'api'));
    assert.equal(
      harness.liveByGroup().get('web')?.length,
      2,
      "web's lost instance is not replaced while its capacity in zone d is unknown",
    );
    sim.settings.unreachableZones = [];
    await harness.runUntil(converged(harness));
    assert.equal(harness.liveByGroup().get('web')?.length, 3);
    assert.equal(harness.liveByGroup().get('api')?.length, 2);
    const launched = sim.world.events().filter((e) => e.from === null && e.tags['drover-fleet'] === FLEET).length;
    assert.equal(launched, before + 2, 'one replacement per lost instance, never a duplicate of what the outage hid');
  });
});
