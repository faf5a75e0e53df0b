/**
 * attack18 finding 3: a group of running VMs scaled up (maxSurge 1), drover killed while the new
 * clones copy and restarted without its state directory. When the copies end, the finished clones
 * (described as the fleet's, never configured nor started) must be completed by their slots'
 * creates: one clone per new slot, no VM destroyed, no reason saying a VM stopped out of band.
 * The passes after the restart are scheduled as the daemon schedules them (scheduler.ts: a group
 * whose creates failed backs off, and is held — listed, not acted on — until the backoff ends).
 * Before the fix, CloneInFlight was a failure: the group backed off (exponentially, 1 s, 2 s, …)
 * while the copies ran, the listings during the backoff saw no create for the finished clones, so
 * their hold ended (unconfigured.ts) and, when the backoff ended, they were deleted as
 * drift-stopped and their slots cloned again. Judged from the simulator's calls and VMs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadFleet } from '../../../src/desired/load.ts';
import { GroupBackoff, recordPassOutcome } from '../../../src/reconcile/scheduler.ts';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { proxmox } from '../../clouds/proxmox.ts';
import { convergedInWorld, PROVIDER, startHarness, type Harness } from '../../helpers/harness.ts';
import { liveVms, pause } from './fixtures.ts';
import { copying, killable, providerIn } from './restart-fixtures.ts';

const BEFORE = 3;
const AFTER = 5;

async function loadState(h: Harness): Promise<Parameters<typeof convergedInWorld>[1]> {
  const loaded = await loadFleet(h.dir);
  if (!loaded.ok) throw new Error('harness fleet invalid');
  return loaded.state;
}

describe('e2e proxmox: scale-up clones finish under a restarted drover without its state directory (attack18 #3)', function () {
  this.timeout(180_000);
  let h: Harness | undefined;
  let dir: string;
  const open: Provider[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-pve-scaleup-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
    await h?.close();
    h = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('completes the finished clones in their slots: no delete, one clone per new slot', async () => {
    h = await startHarness(proxmox, [{ name: 'web', replicas: BEFORE }]);
    const sim = h.sim as ProxmoxSimulator;
    const first = await providerIn(h, path.join(dir, 'first'));
    open.push(first);
    const start = new Map([[PROVIDER, first]]);
    for (let i = 0; i < 80 && !convergedInWorld(h, await loadState(h)); i++) await h.passWith({ providers: start });
    assert.ok(convergedInWorld(h, await loadState(h)), 'the group runs before the scale-up');
    const clonesBefore = sim.engine.calls.list('clone').length;

    sim.settings.fullCloneMs = 300_000; // 1.5 s of wall time at the harness's factor
    await h.writeFleet([{ name: 'web', replicas: AFTER }], 1);
    const kill = new AbortController();
    const dying = h.passWith({ providers: new Map([[PROVIDER, killable(first, kill.signal)]]) }).catch(() => undefined);
    for (let i = 0; i < 2000 && copying(sim) < AFTER - BEFORE; i++) await pause(5);
    assert.equal(copying(sim), AFTER - BEFORE, 'both clones are copying when drover dies');
    kill.abort();
    await dying;
    await first.close();

    const second = await providerIn(h, path.join(dir, 'lost'));
    open.push(second);
    const providers = new Map([[PROVIDER, second]]);
    const reasons: string[] = [];
    const backoff = new GroupBackoff({ random: () => 0.5 });
    let converged = false;
    for (let i = 0; i < 400 && !converged; i++) {
      const hold = backoff.held(Date.now());
      const result = await h.passWith({ providers }, { hold });
      recordPassOutcome(backoff, result, hold, Date.now());
      reasons.push(...result.actions.filter((a) => a.kind === 'delete').map((a) => `${a.name}: ${a.reason}`));
      converged = copying(sim) === 0 && convergedInWorld(h, await loadState(h));
      if (!converged) await pause(50);
    }
    assert.ok(converged, `converged: ${JSON.stringify([...h.liveByGroup()])}`);
    assert.deepEqual(reasons, [], 'nothing deleted');
    assert.equal(sim.engine.calls.counts()['delete'] ?? 0, 0, 'no VM destroyed');
    assert.equal(sim.engine.calls.list('clone').length - clonesBefore, AFTER - BEFORE, 'one clone per new slot, across the restart');
    assert.equal(liveVms(sim).length, AFTER);
  });
});
