/**
 * Identity at launch x tamper detection through drover's real pass: a GCE group with a service
 * account and an Azure group with a user-assigned identity converge and then stay converged (the
 * simulators render the identity back as the clouds do, and drover reads it as its template's, so
 * nothing is replaced as Modified).
 */
import assert from 'node:assert/strict';
import { azure } from '../clouds/azure.ts';
import { gcp } from '../clouds/gcp.ts';
import type { TestCloud } from '../clouds/types.ts';
import { startHarness, type Harness } from '../helpers/harness.ts';
import { converged } from './scenarios.ts';

const IDENTITY: Record<string, string> = {
  gcp: 'serviceAccount: web@example-project.iam.gserviceaccount.com, scopes: [cloud-platform], ',
  azure:
    'managedIdentities: [/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web], ',
};

for (const adapter of [gcp, azure] as TestCloud[]) {
  describe(`e2e ${adapter.kind}: a group with an identity stays converged`, function () {
    this.timeout(120_000);
    let harness: Harness | undefined;
    afterEach(async () => {
      await harness?.close();
      harness = undefined;
    });

    it('converges, then three further passes send nothing and keep every instance', async () => {
      const placement = adapter.groupPlacement.replace('placement: { ', `placement: { ${IDENTITY[adapter.kind]}`);
      assert.notEqual(placement, adapter.groupPlacement, 'the identity is in the group');
      const h = await startHarness(adapter, [{ name: 'web', replicas: 2, placement }]);
      harness = h;
      await h.runUntil(converged(h));
      const ids = (h.liveByGroup().get('web') ?? []).map((i) => i.id).sort();
      assert.equal(ids.length, 2);
      for (let i = 0; i < 3; i++) {
        const result = await h.pass();
        assert.deepEqual(
          result.actions.map((a) => `${a.kind} ${a.name}`),
          [],
        );
      }
      assert.deepEqual((h.liveByGroup().get('web') ?? []).map((i) => i.id).sort(), ids);
    });
  });
}
