/**
 * The audit's template verdict on every cloud: each cloud's real client lists the fleet from its
 * simulator after an instance was changed by hand (`POST /_sim/actions { action: 'modify' }`); the
 * audit rows say `modified` with the fields for that instance alone and `matches` for the others,
 * with the image digest, the artifact and the revision each carries. (The provenance and exit codes
 * are test/cli/audit.test.ts's and test/reconcile/audit-daemon.test.ts's.)
 */
import assert from 'node:assert/strict';
import { loadFleet } from '../../src/desired/load.ts';
import { auditRows } from '../../src/reconcile/audit.ts';
import { TemplateStore } from '../../src/reconcile/template-store.ts';
import { aws } from '../clouds/aws.ts';
import { azure } from '../clouds/azure.ts';
import { gcp } from '../clouds/gcp.ts';
import { proxmox } from '../clouds/proxmox.ts';
import type { TestCloud } from '../clouds/types.ts';
import { convergedInWorld, digestOf, FLEET, PROVIDER, startHarness, type Harness } from '../helpers/harness.ts';
import { simAction } from './tamper-scenarios.ts';

const CASES: readonly {
  readonly title: string;
  readonly adapter: TestCloud;
  readonly changes: object;
  readonly fields: readonly string[];
}[] = [
  { title: 'aws', adapter: aws as TestCloud, changes: { instanceType: 't3.large' }, fields: ['machineType'] },
  { title: 'gcp', adapter: gcp as TestCloud, changes: { machineType: 'e2-standard-8' }, fields: ['machineType'] },
  { title: 'azure', adapter: azure as TestCloud, changes: { vmSize: 'Standard_D8s_v5' }, fields: ['machineType'] },
  { title: 'proxmox', adapter: proxmox as TestCloud, changes: { net0: 'virtio,bridge=vmbr9' }, fields: ['digest', 'network'] },
];

describe('audit: the template verdict of each cloud, from its real client', function () {
  this.timeout(120_000);
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  for (const c of CASES) {
    it(`${c.title}: the instance changed by hand is modified (${c.fields.join(', ')}), the others match`, async () => {
      const groups = [{ name: 'web', replicas: 2, tags: '{ team: web }', drift: '{ modified: report }' }];
      const harness = (h = await startHarness(c.adapter, groups));
      await harness.runUntil((_, state) => convergedInWorld(harness, state));
      const victim = harness.liveByGroup().get('web')![0]!;
      await simAction(harness.sim, { action: 'modify', instanceId: victim.id, changes: c.changes });
      const result = await harness.pass();
      const listed = result.observations.flatMap((o) => (o.ok ? o.instances : []));
      const loaded = await loadFleet(harness.dir);
      assert.ok(loaded.ok);
      const provider = await c.adapter.createProvider(loaded.state.providers[PROVIDER]!, harness.sim, { fleet: FLEET });
      const rows = auditRows(loaded.state, listed, new Map([[PROVIDER, provider]]), new TemplateStore());
      await provider.close();
      const name = harness.sim.world.get(victim.id)?.name;
      const modified = rows.filter((r) => r.template === 'modified');
      assert.equal(modified.length, 1, JSON.stringify(rows));
      assert.ok(modified[0]!.id === victim.id || modified[0]!.name === name, 'the changed instance');
      assert.deepEqual([...modified[0]!.modified].sort(), [...c.fields].sort());
      const others = rows.filter((r) => r !== modified[0]);
      assert.ok(others.length >= 1 && others.every((r) => r.template === 'matches'), JSON.stringify(others));
      for (const r of rows) {
        assert.equal(r.imageDigest, digestOf(1));
        assert.ok(r.artifact !== undefined, 'the artifact of its template');
        assert.equal(r.revision, 'rev', 'the revision the harness launched it from');
      }
    });
  }
});
