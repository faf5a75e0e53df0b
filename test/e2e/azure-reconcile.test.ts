/**
 * The shared end-to-end scenarios with the real Azure clients against the ARM simulator, plus
 * Azure's own: failed create operations, and the record of VM PUTs (never an in-place update).
 */
import assert from 'node:assert/strict';
import type { AzureSimulator } from '../../providers/azure/sim.ts';
import { ALLOCATE_ACTION } from '../../providers/azure/sim.ts';
import { AZURE_RG, azure } from '../clouds/azure.ts';
import { FLEET, startHarness, type Harness } from '../helpers/harness.ts';
import { converged, describeReconcileScenarios } from './scenarios.ts';

describeReconcileScenarios('azure', azure);

describe('e2e azure: ARM specifics through drover passes', function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('failed create operations (AllocationFailed) leave no VM or NIC behind and the group still converges', async () => {
    const harness = (h = await startHarness(azure, [{ name: 'web', replicas: 4 }]));
    const sim = harness.sim as AzureSimulator;
    sim.faults.add({ kind: 'error', actions: [ALLOCATE_ACTION], count: 3 });
    await harness.runUntil(converged(harness));
    assert.equal(harness.liveByGroup().get('web')?.length, 4);
    const live = sim.world.all().filter((i) => i.tags['drover:fleet'] === FLEET && i.state !== 'terminated');
    assert.equal(live.length, 4, 'the failed VMs were deleted');
    assert.equal(sim.nics().length, 4, 'one NIC per live VM: none orphaned');
    assert.ok(sim.nics().every((n) => n.virtualMachine !== undefined));
    assert.ok(sim.engine.operations.list().filter((op) => op.error?.code === 'AllocationFailed').length === 3);
  });

  it('a digest rollout replaces VMs by create + delete: no PUT ever met an existing VM', async () => {
    const groups = [{ name: 'web', replicas: 3 }];
    const harness = (h = await startHarness(azure, groups));
    const sim = harness.sim as AzureSimulator;
    sim.faults.add({ kind: 'drop-after', actions: ['VirtualMachines.CreateOrUpdate'], count: 2 });
    await harness.runUntil(converged(harness));
    harness.addBuild(2);
    await harness.writeFleet(groups, 2);
    await harness.runUntil(converged(harness));
    assert.equal(sim.puts.length, 6, 'three VMs, then three replacements: one PUT each');
    assert.deepEqual(
      sim.puts.filter((p) => p.existed || p.updatedInPlace),
      [],
    );
    for (let i = 0; i < 40 && sim.nics().length > 3; i++) await new Promise((resolve) => setTimeout(resolve, 25)); // the last delete may still run
    assert.equal(sim.nics().length, 3, 'the old VMs took their NICs with them');
  });

  it("passes read nothing outside the provider's resource group, and still see power states", async () => {
    const groups = [{ name: 'web', replicas: 2 }];
    const harness = (h = await startHarness(azure, groups));
    const sim = harness.sim as AzureSimulator;
    // Another team's VMs elsewhere in the subscription, one even tagged with this fleet.
    sim.world.launch(
      {
        name: 'theirs',
        zone: '1',
        image: 'x',
        machineType: 'Standard_B1s',
        tags: { 'drover:fleet': FLEET },
        attributes: { resourceGroup: 'other-team' },
      },
      'out-of-band',
    );
    await harness.runUntil(converged(harness));
    const victim = sim.world.all().find((i) => i.tags['drover:group'] === 'web' && i.state === 'running')!;
    sim.world.stop(victim.id, 'out-of-band');
    const replaced = () =>
      harness
        .liveByGroup()
        .get('web')
        ?.every((i) => i.id !== victim.id && i.state === 'running') === true && harness.liveByGroup().get('web')?.length === 2;
    await harness.runUntil(replaced);
    assert.ok(replaced(), 'the VM stopped out of band was seen stopped and replaced');
    assert.equal(sim.engine.calls.counts()['VirtualMachines.ListAll'], undefined, 'no subscription-wide list');
    assert.ok((sim.engine.calls.counts()['VirtualMachines.InstanceView'] ?? 0) > 0, 'power states read per VM');
    const outside = [...sim.vmReads.keys()].filter((id) => !id.includes(`/resourcegroups/${AZURE_RG.toLowerCase()}/`));
    assert.deepEqual(outside, [], 'no VM outside the resource group was read');
    assert.equal(sim.world.all().find((i) => i.name === 'theirs')?.state, 'running', 'and none touched');
  });
});
