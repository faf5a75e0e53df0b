/**
 * userData variables through drover's real pass on EC2, GCE and Azure: every instance gets its own
 * filled text (read from the simulator's record of what it was launched with), and a converged
 * group stays converged: per-instance values are not part of the template hash, so nothing churns.
 */
import assert from 'node:assert/strict';
import { aws } from '../clouds/aws.ts';
import { azure } from '../clouds/azure.ts';
import { gcp } from '../clouds/gcp.ts';
import type { TestCloud, WorldInstance } from '../clouds/types.ts';
import { digestOf, FLEET, startHarness, type Harness } from '../helpers/harness.ts';
import { converged } from './scenarios.ts';

const USER_DATA = '"#!/bin/sh\\necho ${drover.fleet} ${drover.group} ${drover.slot} ${drover.imageDigest} ${drover.name} ${HOME}\\n"';

/** The userData an instance was launched with, from the simulator's record. */
function userDataOf(kind: string, instance: WorldInstance): string {
  const attrs = instance.attributes;
  if (kind === 'gcp') return (attrs['metadata'] as { key: string; value: string }[]).find((i) => i.key === 'user-data')?.value ?? '';
  const base64 = kind === 'aws' ? attrs['userData'] : attrs['customData'];
  return Buffer.from(String(base64 ?? ''), 'base64').toString('utf8');
}

for (const adapter of [aws, gcp, azure] as TestCloud[]) {
  describe(`e2e ${adapter.kind}: userData variables through drover passes`, function () {
    this.timeout(120_000);
    let harness: Harness | undefined;
    afterEach(async () => {
      await harness?.close();
      harness = undefined;
    });

    it('each instance gets its own slot and name; converged, further passes change nothing', async () => {
      const groups = [{ name: 'web', replicas: 3, placement: `${adapter.groupPlacement}  userData: ${USER_DATA}\n` }];
      const h = await startHarness(adapter, groups);
      harness = h;
      await h.runUntil(converged(h));
      const live = h.liveByGroup().get('web') ?? [];
      assert.equal(live.length, 3);
      assert.deepEqual(live.map((i) => i.slot).sort(), ['0', '1', '2']);
      for (const instance of live) {
        const vm: WorldInstance | undefined = h.sim.world.get(instance.id);
        assert.ok(vm);
        assert.equal(userDataOf(adapter.kind, vm), `#!/bin/sh\necho ${FLEET} web ${instance.slot} ${digestOf(1)} ${vm.name} \${HOME}\n`);
      }
      const ids = live.map((i) => i.id).sort();
      for (let i = 0; i < 3; i++) {
        const result = await h.pass();
        assert.deepEqual(
          result.actions.map((a) => `${a.kind} ${a.name}`),
          [],
          'a converged group with per-instance userData is left alone',
        );
      }
      assert.deepEqual((h.liveByGroup().get('web') ?? []).map((i) => i.id).sort(), ids);
    });
  });
}
