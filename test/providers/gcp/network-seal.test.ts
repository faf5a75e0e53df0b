/**
 * GCE: an interface moved to another network is a modification even when the template names only
 * a subnetwork (attack24 F2): the network each instance was first seen on is its seal. Real GCE
 * client against the simulator; the change made out of band as `POST /_sim/actions` does.
 */
import assert from 'node:assert/strict';
import type { GceSimulator } from '../../../providers/gcp/sim.ts';
import { modifyInstance } from '../../../providers/gcp/sim/modify.ts';
import { modifiedFields } from '../../../src/plan/tamper.ts';
import { FLEET, providerFor, request, startSim, TEMPLATE, visible, type Provider } from './fixtures.ts';

describe('GCE tamper: network moved, template naming only a subnetwork (attack24 F2)', () => {
  let sim: GceSimulator;
  let provider: Provider;

  beforeEach(async () => {
    sim = await startSim();
    provider = await providerFor(sim);
  });
  afterEach(async () => {
    await provider.close();
    await sim.close();
  });

  async function fields(): Promise<string[]> {
    const [inst] = await provider.list({ fleet: FLEET });
    assert.ok(inst?.launch, 'listed with its launch facts');
    return modifiedFields(provider.expectedFacts!(TEMPLATE, inst), inst.launch);
  }

  it('finds the network change on the next listing, and nothing before it', async () => {
    assert.equal(TEMPLATE.placement.network, undefined, 'the template names no network');
    await provider.create(request('web', 0));
    assert.deepEqual(await fields(), []);
    const [world] = visible(sim);
    modifyInstance(sim.engine.world, world!.id, { network: 'projects/acme-prod/global/networks/evil' });
    assert.ok((await fields()).includes('network'));
  });
});
