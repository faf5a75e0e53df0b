/** `drover sim` for Azure: the fleet's simulator starts seeded with its images and the registry's provider reaches it over https. */
import assert from 'node:assert/strict';
import { loadProviderFactory } from '../../../providers/registry.ts';
import { loadFleet } from '../../../src/desired/load.ts';
import { startFleetSimulators, type ProviderSimulator } from '../../../src/cli/fleet-simulators.ts';
import { writeFleet } from '../../helpers/fleet-files.ts';
import { DIGEST, IMAGE, SUB, SUBNET } from './sim-fixtures.ts';

const FLEET_YAML = `apiVersion: drover/v1
kind: Fleet
metadata: { name: sim-fleet }
---
apiVersion: drover/v1
kind: Provider
metadata: { name: azure-eu }
spec: { type: azure, subscriptionId: ${SUB}, resourceGroup: web-rg, location: northeurope }
---
apiVersion: drover/v1
kind: Image
metadata: { name: web }
spec:
  digest: ${DIGEST}
  artifacts: { azure-eu: { id: ${IMAGE} } }
---
apiVersion: drover/v1
kind: VmGroup
metadata: { name: web }
spec:
  provider: azure-eu
  image: web
  replicas: 1
  machine: { type: Standard_B2s }
  placement: { zones: ['1'], subnet: ${SUBNET} }
`;

describe('drover sim: Azure starter', () => {
  let sims: ProviderSimulator[] = [];
  let cleanup: (() => Promise<void>) | undefined;
  const saved = { ...process.env };

  afterEach(async () => {
    await Promise.all(sims.map((s) => s.close()));
    sims = [];
    await cleanup?.();
    for (const key of ['NO_PROXY', 'DROVER_AZURE_TOKEN']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  it('starts an https ARM simulator with the CA, NO_PROXY and a sim token, seeded with the image digest', async () => {
    const fleet = await writeFleet({ 'fleet.yaml': FLEET_YAML });
    cleanup = fleet.cleanup;
    const loaded = await loadFleet(fleet.dir);
    assert.ok(loaded.ok, loaded.ok ? '' : JSON.stringify(loaded.problems));
    const result = await startFleetSimulators(loaded.state, { factor: 1000 });
    sims = result.started;
    const [sim] = sims;
    assert.ok(sim);
    assert.equal(sim.type, 'azure');
    assert.match(sim.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(sim.caPem ?? '', /BEGIN CERTIFICATE/);
    assert.equal(sim.env['NO_PROXY'], '127.0.0.1,localhost');
    Object.assign(process.env, sim.env);
    const factory = await loadProviderFactory('azure');
    const provider = await factory({
      config: loaded.state.providers['azure-eu']!,
      fleet: 'sim-fleet',
      endpoint: sim.url,
      caPem: sim.caPem,
    });
    await provider.verifyImage({ name: 'web', digest: DIGEST, artifact: { id: IMAGE } });
    assert.deepEqual(await provider.list({ fleet: 'sim-fleet' }), []);
    await provider.close();
  });
});
