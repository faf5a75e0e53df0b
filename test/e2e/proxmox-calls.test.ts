/**
 * Issue 18 item 7: a Proxmox pass lists `/cluster/resources` once, however many creates and deletes
 * it runs (creates, VMID picking, image checks and deletes reuse the pass's listing and make targeted
 * reads). Counted from the simulator's call log, pass by pass, through a first rollout and a roll to
 * a new build, with VMIDs from nextid and with a vmidRange.
 */
import assert from 'node:assert/strict';
import { proxmox, proxmoxRanged } from '../clouds/proxmox.ts';
import { convergedInWorld, startHarness, type GroupSpec, type Harness } from '../helpers/harness.ts';

const GROUPS: GroupSpec[] = [
  { name: 'web', replicas: 4, rollout: '{ maxSurge: 2, maxUnavailable: 1, minReadySeconds: 0, progressDeadlineSeconds: 600 }' },
  { name: 'api', replicas: 2 },
];

/** Runs passes until converged; returns the /cluster/resources calls of each pass and the actions they took. */
async function countPerPass(h: Harness): Promise<{ perPass: number[]; actions: number }> {
  const perPass: number[] = [];
  let actions = 0;
  let seen = h.sim.engine.calls.list('resources').length;
  await h.runUntil((result, state) => {
    const now = h.sim.engine.calls.list('resources').length;
    perPass.push(now - seen);
    seen = now;
    actions += result.actions.length;
    return result.actions.length === 0 && convergedInWorld(h, state);
  });
  return { perPass, actions };
}

describe('e2e proxmox: one /cluster/resources listing per pass (issue 18 item 7)', function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  for (const [label, adapter] of [
    ['VMIDs from nextid', proxmox],
    ['a vmidRange', proxmoxRanged],
  ] as const) {
    it(`${label}: every pass of a first rollout and a roll to a new build lists the cluster exactly once`, async () => {
      h = await startHarness(adapter, GROUPS);
      const first = await countPerPass(h);
      h.addBuild(2);
      await h.writeFleet(GROUPS, 2);
      const roll = await countPerPass(h);
      const passes = [...first.perPass, ...roll.perPass];
      assert.ok(first.actions >= 6 && roll.actions >= 12, `the passes created and deleted (${first.actions}, ${roll.actions} actions)`);
      assert.deepEqual(
        passes.filter((n) => n !== 1),
        [],
        `resources calls per pass: ${passes.join(' ')}`,
      );
    });
  }
});
