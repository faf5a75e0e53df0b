/**
 * Attack 18b finding A: after a lost state directory every EC2 launch waits on the launch fence
 * (LaunchFenced). A surge-0 group given a new build then deleted a ready instance for room and had
 * its own launch fenced: it ran short of a replica for the whole fence. The room-making deletes now
 * wait with the launches (launch-check.ts, Provider.launchesBlockedUntil): no ready instance is
 * terminated until the fence ends, the group waits (launch-fence in status, no failure, not
 * Stalled), then the rollout completes. Passes driven as the daemon drives them; judged from the
 * EC2 simulator's record of the world.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ec2Simulator } from '../../providers/aws/sim.ts';
import type { Provider } from '../../src/contract/provider.ts';
import { loadFleet } from '../../src/desired/load.ts';
import type { Wait } from '../../src/plan/types.ts';
import { expectedWaitsOf } from '../../src/reconcile/expected-waits.ts';
import { GroupBackoff, recordPassOutcome } from '../../src/reconcile/scheduler.ts';
import { StalledGroups } from '../../src/reconcile/stalled.ts';
import { StatusStore } from '../../src/status/status-store.ts';
import { aws } from '../clouds/aws.ts';
import { convergedInWorld, FLEET, PROVIDER, startHarness } from '../helpers/harness.ts';
import type { GroupSpec, Harness } from '../helpers/harness.ts';

const LIST_LAG_MS = 3000;
const SURGE0: GroupSpec[] = [
  { name: 'web', replicas: 3, rollout: '{ maxSurge: 0, maxUnavailable: 1, minReadySeconds: 0, progressDeadlineSeconds: 3600 }' },
];

/** The fleet's instances the simulator has not terminated (nor is terminating), by id. */
function liveIds(h: Harness): Set<string> {
  return new Set(
    h.sim.world
      .all()
      .filter((i) => aws.ownership(i, 'fleet') === FLEET && i.state !== 'terminated' && i.state !== 'terminating')
      .map((i) => i.id),
  );
}

describe('EC2 launch fence: room-making deletes wait with the launches (surge 0)', function () {
  this.timeout(90_000);
  let h: Harness | undefined;
  let fenced: Provider | undefined;
  let stateDir: string | undefined;
  afterEach(async () => {
    await fenced?.close();
    await h?.close();
    if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true });
  });

  it('terminates no ready instance until the fence ends, waits without failing, then rolls out', async () => {
    h = await startHarness(aws, SURGE0, { factor: 20, deps: { stalled: new StalledGroups() } });
    const harness = h;
    await harness.runUntil((_, s) => convergedInWorld(harness, s));
    const ready = liveIds(harness);
    assert.equal(ready.size, 3);
    harness.addBuild(2);
    await harness.writeFleet(SURGE0, 2);
    const loaded = await loadFleet(harness.dir);
    assert.ok(loaded.ok);
    const state = loaded.state;
    // A drover whose state directory was lost: an empty one, so the launch journal is missing.
    stateDir = await mkdtemp(path.join(tmpdir(), 'drover-fence-deletes-'));
    fenced = await aws.createProvider(state.providers[PROVIDER]!, harness.sim as Ec2Simulator, { stateDir, listLagMs: LIST_LAG_MS });
    assert.ok(fenced.launchesBlockedUntil?.() !== undefined, 'the provider says its launches are blocked');
    const fencedUntil = (JSON.parse(await readFile(path.join(stateDir, 'launches.json'), 'utf8')) as { fencedUntil: number }).fencedUntil;
    const providers = new Map([[PROVIDER, fenced]]);

    const backoff = new GroupBackoff({ random: () => 0.5 });
    const status = new StatusStore();
    let carried = new Map<string, Wait>();
    let fencedPasses = 0;
    let done = false;
    for (let i = 0; i < 400 && !done; i++) {
      const held = backoff.held(Date.now());
      const result = await harness.passWith({ providers }, { hold: held, waits: carried });
      await status.recordPass(state, result, new Set());
      recordPassOutcome(backoff, result, held, Date.now());
      carried = expectedWaitsOf(result.guarded.steps);
      const view = status.get('web')!;
      assert.equal(view.lastError, undefined, `pass ${i}: no error: ${JSON.stringify(view.lastError)}`);
      assert.notEqual(view.conditions.find((c) => c.type === 'Stalled')?.status, 'True', `pass ${i}: not Stalled`);
      assert.equal(backoff.count('web'), 0, `pass ${i}: no failure counted`);
      const live = liveIds(harness);
      // Judged after the pass: a pass that ended before the fence's end sent nothing for room.
      if (Date.now() < fencedUntil) {
        fencedPasses++;
        assert.deepEqual(
          [...ready].filter((id) => !live.has(id)),
          [],
          `pass ${i}: no ready instance terminated during the fence`,
        );
        assert.equal(
          view.waits?.[0]?.reason,
          'launch-fence',
          `pass ${i}: status says it waits for the launch fence: ${JSON.stringify(view.waits)}`,
        );
      }
      assert.ok(live.size >= 2, `pass ${i}: never more than maxUnavailable (1) short: ${live.size} live`);
      done = convergedInWorld(harness, state) && [...ready].every((id) => !live.has(id));
      await sleep(50);
    }
    assert.ok(fencedPasses >= 3, `passes ran during the fence (${fencedPasses})`);
    assert.ok(done, 'the rollout completed after the fence');
    const web = harness.liveByGroup().get('web') ?? [];
    assert.deepEqual(
      web.map((x) => `${x.template} ${x.state}`),
      Array(3).fill(`${state.groups['web']!.templateHash} running`),
    );
  });
});
