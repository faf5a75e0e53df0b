/**
 * The clone journal in a lane's shared records (HA, ProviderContext.records): a holder stops while
 * its clone copies, the next holder — with an empty state directory of its own — reads the clone
 * from the shared journal, lists the copying VM in its slot (locked, no CloneInFlight wait on the
 * task-list fallback) and completes it: one clone in all. Judged from the simulator's calls and VMs.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { proxmox } from '../../clouds/proxmox.ts';
import { MemoryRecords } from '../../helpers/memory-records.ts';
import { configOf, FLEET, liveVms, pause, request, startSim } from './fixtures.ts';

const copying = (sim: ProxmoxSimulator) => liveVms(sim).filter((vm) => vm.attributes['cloning'] === true);

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000; i++) {
    if (check()) return;
    await pause(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('Proxmox clone journal in shared records (HA hand-over mid-clone)', function () {
  this.timeout(60_000);
  let sim: ProxmoxSimulator;
  let dir: string;
  const open: Provider[] = [];
  beforeEach(async () => {
    sim = await startSim({ settings: { fullCloneMs: 1_500_000 } }); // 1.5 s of wall time
    dir = await mkdtemp(path.join(tmpdir(), 'drover-pve-shared-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  const provider = async (records: MemoryRecords, stateDir: string): Promise<Provider> => {
    const p = await proxmox.createProvider(configOf(), sim, { fleet: FLEET, records, stateDir });
    open.push(p);
    return p;
  };

  it("the next holder places the previous holder's copying clone in its slot and completes it: one clone in all", async () => {
    const shared = new MemoryRecords();
    const req = request('web', 0);
    const first = await provider(shared, path.join(dir, 'a'));
    const stop = new AbortController();
    const pending = first.create(req, { signal: stop.signal }).catch((error: unknown) => error);
    await until(() => copying(sim).length === 1, 'the clone to start copying');
    stop.abort(); // the holder goes away mid-copy
    await pending;
    await first.close();
    assert.ok(shared.values.has('clones.json'), 'the clone was journaled in the shared records');

    const second = await provider(shared, path.join(dir, 'b'));
    await pause(20); // pvestatd has taken a snapshot of the copying VM
    const listed = await second.list({ fleet: FLEET });
    assert.equal(copying(sim).length, 1, 'still in the copy window');
    assert.deepEqual(
      listed.map((i) => [i.group, i.slot, i.locked]),
      [['web', 0, true]],
      'the copying clone holds its slot under the next holder',
    );
    assert.equal(second.launchesBlockedUntil?.(), undefined, 'no wait on the task-list fallback');
    const created = await second.create(req);
    assert.equal(created.state, 'running');
    assert.equal(sim.engine.calls.list('clone').length, 1, 'one clone call across the hand-over');
    assert.equal(liveVms(sim).length, 1);
  });
});
