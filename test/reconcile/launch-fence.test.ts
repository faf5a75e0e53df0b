/**
 * Issue 18 leftover: after a lost state directory, EC2 launches wait on the launch fence
 * (LaunchFenced) for the list lag. The reconcile loop counted each refusal as a group failure: the
 * group backed off exponentially (up to 5 min) past the fence's end, and status showed the
 * refusal as its lastError. A fenced launch is an expected wait: the group is held until the fence
 * ends (no failure counted), status says `launch-fence` with the time left and no lastError, and
 * the launch goes out on the first pass after the fence. Passes driven as the daemon drives them
 * (scheduler.ts recordPassOutcome, held groups, carried waits); judged from the EC2 simulator.
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
import { convergedInWorld, PROVIDER, startHarness } from '../helpers/harness.ts';
import type { Harness } from '../helpers/harness.ts';

const LIST_LAG_MS = 1500;

describe('EC2 launch fence: an expected wait, not a failure', function () {
  this.timeout(60_000);
  let h: Harness | undefined;
  let fenced: Provider | undefined;
  let stateDir: string | undefined;
  afterEach(async () => {
    await fenced?.close();
    await h?.close();
    if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true });
  });

  it('holds the group until the fence ends, with a launch-fence wait in status and no failure, then launches', async () => {
    h = await startHarness(aws, [{ name: 'web', replicas: 2 }], { factor: 20, deps: { stalled: new StalledGroups() } });
    const state = async () => {
      const loaded = await loadFleet(h!.dir);
      assert.ok(loaded.ok);
      return loaded.state;
    };
    await h.runUntil((_, s) => convergedInWorld(h!, s));
    await h.writeFleet([{ name: 'web', replicas: 3 }], 1);
    // A drover whose state directory was lost: an empty one, so the launch journal is missing.
    stateDir = await mkdtemp(path.join(tmpdir(), 'drover-fence-'));
    fenced = await aws.createProvider((await state()).providers[PROVIDER]!, h.sim as Ec2Simulator, { stateDir, listLagMs: LIST_LAG_MS });
    const providers = new Map([[PROVIDER, fenced]]);
    const openedAt = Date.now();
    // The fence's end, as the provider journaled it on opening.
    const fencedUntil = (JSON.parse(await readFile(path.join(stateDir, 'launches.json'), 'utf8')) as { fencedUntil: number }).fencedUntil;
    assert.ok(fencedUntil > openedAt - LIST_LAG_MS, 'the journal holds the fence');

    const backoff = new GroupBackoff({ random: () => 0.5 });
    const status = new StatusStore();
    let carried = new Map<string, Wait>();
    let refusals = 0;
    let heldPasses = 0;
    let launchedAt: number | undefined;
    // The refusing pass's own length: the hold may end at most that long after the fence (retryAt is
    // taken at the pass's end, the time left at the refusal inside it). Held passes keep that retryAt.
    let slackOfRefusingPass = 0;
    for (let i = 0; i < 200 && (h.liveByGroup().get('web') ?? []).length < 3; i++) {
      const held = backoff.held(Date.now());
      // Taken before the pass is called: the refusal happens after it, whatever the pass's own startedAt says.
      const passCalledAt = Date.now();
      const result = await h.passWith({ providers }, { hold: held, waits: carried });
      await status.recordPass(await state(), result, new Set());
      const recordedAt = Date.now();
      const waiting = recordPassOutcome(backoff, result, held, recordedAt);
      carried = expectedWaitsOf(result.guarded.steps);
      const creates = result.actions.filter((a) => a.group === 'web' && a.kind === 'create');
      const launched = creates.some((a) => a.error === undefined);
      if (launched) launchedAt ??= Date.now();
      const refusedNow = creates.filter((a) => a.error?.reason === 'LaunchFenced').length;
      refusals += refusedNow;
      if (refusedNow > 0) slackOfRefusingPass = recordedAt - passCalledAt;
      if (held.has('web')) heldPasses++;
      const view = status.get('web')!;
      assert.equal(view.lastError, undefined, `pass ${i}: a fenced launch is no error: ${JSON.stringify(view.lastError)}`);
      assert.notEqual(view.conditions.find((c) => c.type === 'Stalled')?.status, 'True', `pass ${i}: not Stalled`);
      assert.equal(backoff.count('web'), 0, `pass ${i}: no failure counted, so no backoff growth`);
      if (!launched) {
        const wait = view.waits?.[0];
        assert.equal(wait?.reason, 'launch-fence', `pass ${i}: status says it waits for the launch fence: ${JSON.stringify(view.waits)}`);
        assert.match(wait!.message, /launches wait until \d{4}-\d\d-\d\dT[\d:.]+Z/);
        assert.ok(wait!.secondsLeft !== undefined && wait!.secondsLeft <= Math.ceil(LIST_LAG_MS / 1000), 'time left is within the fence');
        // Held until the fence's end: the refusal's time left, counted from no earlier than the pass's call.
        const retryAt = waiting.get('web') ?? backoff.retryAt('web');
        assert.ok(
          retryAt !== undefined && retryAt >= fencedUntil && retryAt - fencedUntil <= slackOfRefusingPass,
          `held until the fence ends, not later: ${(retryAt ?? NaN) - fencedUntil} ms past it`,
        );
      }
      await sleep(50);
    }
    const live = h.liveByGroup().get('web') ?? [];
    assert.equal(live.length, 3, 'launched once the fence ended');
    assert.equal(refusals, 1, 'one refused attempt: the group was held, not retried during the fence');
    assert.ok(heldPasses >= 3, `passes ran while the group was held (${heldPasses})`);
    assert.ok(launchedAt !== undefined && launchedAt >= fencedUntil, 'nothing launched before the fence ended');
  });
});
