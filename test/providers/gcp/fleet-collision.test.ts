/**
 * Instance names do not carry the fleet id (`<group>-<hash8>-<slot>`): after a fleet id change, or
 * with two fleets in one project, a slot's name can be held by another fleet's instance. create
 * must refuse (launching nothing) instead of walking names; and a provider opened for one fleet id
 * must never launch for another (it would not recognise what it launched as the slot's own).
 */
import assert from 'node:assert/strict';
import type { CreateRequest } from '../../../src/contract/provider.ts';
import { idempotencyKey } from '../../../src/contract/naming.ts';
import type { GceSimulator } from '../../../providers/gcp/sim.ts';
import { LABEL } from '../../../providers/gcp/labels.ts';
import { FLEET, providerFor, rejectionOf, request, startSim, visible, type Provider } from './fixtures.ts';

const OLD_FLEET = 'acme-old';

/** The request the executor builds for (web, slot) in fleet `fleet` (same name: names do not carry the fleet). */
function requestOf(fleet: string, slot: number): CreateRequest {
  const base = request('web', slot);
  return {
    ...base,
    idempotencyKey: idempotencyKey(fleet, 'web', base.owner.templateHash, slot),
    owner: { ...base.owner, fleet },
  };
}

describe('GCP create: a slot name held by another fleet', () => {
  let sim: GceSimulator;
  const opened: Provider[] = [];
  const open = async (fleet: string) => {
    const provider = await providerFor(sim, {}, fleet);
    opened.push(provider);
    return provider;
  };

  beforeEach(async () => {
    sim = await startSim();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((p) => p.close()));
    await sim.close();
  });

  it("refuses (Conflict NameTakenByAnotherFleet, naming the instance and its fleet) and launches nothing when another fleet's instance holds the name", async () => {
    const old = await (await open(OLD_FLEET)).create(requestOf(OLD_FLEET, 0));
    const provider = await open(FLEET);
    const error = await rejectionOf(provider.create(request('web', 0)));
    assert.equal(error.kind, 'Conflict');
    assert.equal(error.reason, 'NameTakenByAnotherFleet');
    assert.match(error.message, new RegExp(old.name));
    assert.match(error.message, new RegExp(OLD_FLEET));
    const live = visible(sim);
    assert.equal(live.length, 1, 'only the old fleet instance lives');
    assert.equal(live[0]?.tags[LABEL.fleet], OLD_FLEET);
    assert.equal((await rejectionOf(provider.create(request('web', 0)))).reason, 'NameTakenByAnotherFleet', 'a later pass too');
    assert.equal(visible(sim).length, 1);
  });

  it('a provider opened for another fleet id refuses the request (Invalid FleetMismatch) and launches nothing', async () => {
    const stale = await open(OLD_FLEET);
    const error = await rejectionOf(stale.create(request('web', 0)));
    assert.equal(error.kind, 'Invalid');
    assert.equal(error.reason, 'FleetMismatch');
    assert.equal(sim.engine.calls.list('compute.instances.insert').length, 0);
    assert.equal(visible(sim).length, 0);
  });

  it('after a fleet id change with a stale provider and the old instance in place, at most one instance per slot is ever launched', async () => {
    const stale = await open(OLD_FLEET);
    for (const slot of [0, 1]) await stale.create(requestOf(OLD_FLEET, slot));
    for (const slot of [0, 1]) await rejectionOf(stale.create(request('web', slot)));
    const fresh = await open(FLEET);
    for (const slot of [0, 1]) await rejectionOf(fresh.create(request('web', slot)));
    const ours = visible(sim).filter((i) => i.tags[LABEL.fleet] === FLEET);
    assert.equal(ours.length, 0, `launched for ${FLEET}: ${ours.map((i) => i.name).join(', ')}`);
  });
});
