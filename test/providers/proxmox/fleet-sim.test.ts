import assert from 'node:assert/strict';
import { createProxmoxProvider } from '../../../providers/proxmox/open.ts';
import { loadFleet } from '../../../src/desired/load.ts';
import { startFleetSimulators } from '../../../src/cli/fleet-simulators.ts';
import { writeFleet } from '../../helpers/fleet-files.ts';
import { proxmox } from '../../clouds/proxmox.ts';

const DIGEST = `sha256:${'c'.repeat(64)}`;
const FLEET_YAML = `apiVersion: drover/v1
kind: Fleet
metadata: { name: lab }
---
apiVersion: drover/v1
kind: Provider
metadata: { name: pve-lab }
spec: { type: proxmox, nodes: [alpha, beta], storage: nvme, pool: fleet }
---
apiVersion: drover/v1
kind: Image
metadata: { name: web }
spec: { digest: "${DIGEST}", artifacts: { pve-lab: { template: 9050 } } }
---
apiVersion: drover/v1
kind: VmGroup
metadata: { name: web }
spec: { provider: pve-lab, image: web, replicas: 2, placement: { zones: [alpha, beta] } }
`;

describe('drover sim: a PVE simulator per proxmox Provider document', () => {
  it('registers the fleet templates with their digests on the provider nodes; the env and caPem open the provider', async () => {
    const { dir, cleanup } = await writeFleet({ 'fleet.yaml': FLEET_YAML });
    const loaded = await loadFleet(dir);
    assert.ok(loaded.ok);
    const { started, unsupported } = await startFleetSimulators(loaded.state, { factor: 1000 });
    try {
      assert.deepEqual(unsupported, []);
      const [sim] = started;
      assert.ok(sim?.caPem !== undefined);
      assert.deepEqual(Object.keys(sim.env), ['PVE_TOKEN_SECRET']);
      const provider = await createProxmoxProvider(
        {
          config: loaded.state.providers['pve-lab']!,
          fleet: 'lab',
          endpoint: sim.url,
          caPem: sim.caPem,
          credentials: sim.credentials!,
          staticCredentials: { tokenSecret: sim.env['PVE_TOKEN_SECRET']! },
        },
        proxmox.fastOptions,
      );
      try {
        await provider.verifyImage({ name: 'web', digest: DIGEST, artifact: { template: 9050 } });
        const created = await provider.create({
          name: 'web-00000000-0',
          idempotencyKey: 'k',
          zone: 'beta',
          template: loaded.state.groups['web']!.template,
          owner: {
            fleet: 'lab',
            group: 'web',
            templateHash: loaded.state.groups['web']!.templateHash,
            imageDigest: DIGEST,
            revision: 'r',
            slot: 0,
          },
        });
        assert.equal(created.zone, 'beta');
      } finally {
        await provider.close();
      }
    } finally {
      await Promise.all(started.map((s) => s.close()));
      await cleanup();
    }
  });
});
