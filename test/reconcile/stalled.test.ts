/**
 * Stalled is stable (issue 18 item 4): a group whose create the cloud refuses as written (here an
 * AMI whose digest tag does not match) stays Stalled=True, with its lastError, through the backoff
 * window in which its passes do not act, until the cause is resolved (Git changes the template,
 * or an attempt succeeds). Driven like the daemon drives passes (per-group backoff, held groups),
 * on the simulator's clock; the README's DroverGroupStalled alert (for: 5m) needs exactly this.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadFleet } from '../../src/desired/load.ts';
import type { PassResult } from '../../src/reconcile/pass.ts';
import { GroupBackoff } from '../../src/reconcile/scheduler.ts';
import { StalledGroups } from '../../src/reconcile/stalled.ts';
import { StatusStore } from '../../src/status/status-store.ts';
import { aws } from '../clouds/aws.ts';
import { startHarness } from '../helpers/harness.ts';
import type { Harness } from '../helpers/harness.ts';

const GROUPS = [{ name: 'web', replicas: 2 }];

function conditionOf(result: PassResult, type: string) {
  return result.guarded.steps.find((s) => s.group === 'web')?.status.conditions.find((c) => c.type === type);
}

describe('Stalled across the backoff window (EC2 simulator, sim clock)', function () {
  this.timeout(60_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('stays Stalled=True with its lastError while the group backs off, and clears when Git changes the template', async () => {
    h = await startHarness(aws, GROUPS, { factor: 20, deps: { stalled: new StalledGroups(), now: () => h!.sim.engine.clock.now() } });
    const now = () => h!.sim.engine.clock.now();
    h.addBuild(2, `sha256:${'f'.repeat(64)}`); // the AMI of build 2 carries another digest
    await h.writeFleet(GROUPS, 2);
    const backoff = new GroupBackoff({ random: () => 0.5 });
    const status = new StatusStore();
    const state = async () => {
      const loaded = await loadFleet(h!.dir);
      assert.ok(loaded.ok);
      return loaded.state;
    };
    let heldPasses = 0;
    for (let i = 0; i < 60 && heldPasses < 4; i++) {
      const held = backoff.held(now());
      const result = await h.pass({ hold: held });
      await status.recordPass(await state(), result, new Set());
      const failed = result.actions.some((a) => a.group === 'web' && a.error !== undefined);
      if (!held.has('web')) backoff.record('web', failed, now());
      else heldPasses++;
      const stalled = conditionOf(result, 'Stalled');
      assert.equal(stalled?.status, 'True', `pass ${i} (${held.has('web') ? 'backing off' : 'acting'}): Stalled=True`);
      assert.equal(stalled?.reason, 'ImageDigestMismatch');
      assert.equal(conditionOf(result, 'Ready')?.status, 'False');
      const view = status.get('web')!;
      assert.equal(view.lastError?.reason, 'ImageDigestMismatch', `pass ${i}: lastError kept`);
      const name = result.actions[0]?.name;
      if (name !== undefined)
        assert.equal(stalled!.message.split(name).length - 1, 1, `the create's name appears once: ${stalled!.message}`);
      await sleep(50);
    }
    assert.ok(heldPasses >= 4, `passes ran inside the backoff window (${heldPasses})`);
    assert.equal(h.sim.world.all().filter((i) => i.image === aws.imageOf(2)).length, 0, 'nothing launched from the mismatched image');

    // A throttled listing holds the group: status keeps the stalled cause as its lastError (the
    // note `drover status` prints), Stalled stays True, Ready turns Unknown (it was not observed).
    h.sim.faults.add({ kind: 'throttle', actions: ['DescribeInstances'], count: 100 });
    const throttled = await h.pass({});
    assert.equal(throttled.skipped.find((s) => s.group === 'web')?.error.reason, 'RequestLimitExceeded');
    await status.recordPass(await state(), throttled, new Set());
    const view = status.get('web')!;
    assert.equal(view.lastError?.reason, 'ImageDigestMismatch', 'the stalled cause stays the note, not the throttle');
    assert.deepEqual(
      ['Stalled', 'Ready'].map((t) => view.conditions.find((c) => c.type === t)?.status),
      ['True', 'Unknown'],
    );
    h.sim.faults.clear();

    await h.writeFleet(GROUPS, 1); // Git goes back to a good build: a fresh attempt
    const fixed = await h.pass({ hold: backoff.held(now()) });
    assert.notEqual(
      conditionOf(fixed, 'Stalled')?.status,
      'True',
      'a changed template clears the stalled cause at once, even while backing off',
    );
  });
});
