/**
 * Property: whatever GCE does to drover's inserts (responses dropped after the fact, rate limits,
 * 5xx, failed operations) and whatever happens to the instances out of band (deleted, stopped,
 * labels edited), creating a slot — by one drover or a restarted one — never leaves two usable
 * instances carrying the slot's key, and a create that succeeds returns the slot's one instance.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { INSERT_OPERATION_FAULT, type GceSimulator } from '../../../providers/gcp/sim.ts';
import { providerFor, request, startSim, type Provider } from './fixtures.ts';

type Disturbance = 'drop' | 'throttle' | 'error503' | 'opFail' | 'delete' | 'stop' | 'relabel' | 'restart' | 'none';

const DISTURBANCES: readonly Disturbance[] = ['drop', 'throttle', 'error503', 'opFail', 'delete', 'stop', 'relabel', 'restart', 'none'];

function usableWithKey(sim: GceSimulator, key: string): number {
  return sim.world.all().filter((i) => i.tags['drover-key'] === key && (i.state === 'pending' || i.state === 'running')).length;
}

describe('GCP create idempotency under disturbances (property)', function () {
  this.timeout(120_000);
  let sim: GceSimulator;
  let provider: Provider;

  before(async () => {
    sim = await startSim();
    provider = await providerFor(sim);
  });
  after(async () => {
    await provider.close();
    await sim.close();
  });

  it('never two usable instances per slot; successful creates return the slot instance', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...DISTURBANCES), fc.integer({ min: 0, max: 1 })), { minLength: 1, maxLength: 8 }),
        async (steps) => {
          sim.world.reset();
          sim.faults.clear();
          sim.world.setLatencies({ terminateMs: 3_600_000 });
          for (const [disturbance, slot] of steps) {
            const req = request('web', slot);
            const mine = () =>
              sim.world
                .all()
                .filter((i) => i.tags['drover-key'] === req.idempotencyKey && i.state !== 'terminated' && i.state !== 'terminating');
            const victim = mine()[0];
            if (disturbance === 'drop') sim.faults.add({ kind: 'drop-after', actions: ['compute.instances.insert'], count: 1 });
            if (disturbance === 'throttle')
              sim.faults.add({ kind: 'throttle', actions: ['compute.instances.insert', 'compute.instances.get'], count: 2 });
            if (disturbance === 'error503')
              sim.faults.add({ kind: 'error', status: 503, actions: ['compute.zoneOperations.wait'], count: 1 });
            if (disturbance === 'opFail')
              sim.faults.add({ kind: 'error', actions: [INSERT_OPERATION_FAULT], code: 'ZONE_RESOURCE_POOL_EXHAUSTED', count: 1 });
            if (disturbance === 'delete' && victim !== undefined) sim.world.terminate(victim.id, 'out-of-band');
            if (disturbance === 'stop' && victim !== undefined) sim.world.stop(victim.id, 'out-of-band');
            if (disturbance === 'relabel' && victim !== undefined)
              sim.world.setTags(victim.id, { 'drover-template': 'edited' }, 'out-of-band');
            const actor = disturbance === 'restart' ? await providerFor(sim) : provider;
            try {
              const created = await actor.create(req);
              const holder = sim.world.get(created.id);
              assert.ok(holder !== undefined && holder.tags['drover-key'] === req.idempotencyKey);
            } catch (error) {
              assert.ok(disturbance === 'opFail', `only a fresh failed operation may fail a create (got ${String(error)})`);
            } finally {
              if (actor !== provider) await actor.close();
            }
            sim.faults.clear();
            assert.ok(usableWithKey(sim, req.idempotencyKey) <= 1, 'at most one usable instance per slot');
          }
        },
      ),
      { numRuns: 15 },
    );
  });
});
