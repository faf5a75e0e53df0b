/**
 * Property test of "never an in-place update" against the simulator: under any interleaving of
 * creates (also two drovers creating the same slot at once), destroys, out-of-band deletes, lost
 * and hung responses, 5xx, throttling, failed allocations and failed polls, no VM PUT ever meets an
 * existing VM without being refused (412), a resolved create is the slot's VM, and once the faults
 * stop every slot converges to one VM with one attached NIC — no orphans.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ALLOCATE_ACTION, type AzureSimulator } from '../../../providers/azure/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { FAST_RETRY, liveVms, pause, providerFor, request, startSim } from './sim-fixtures.ts';

type Op =
  | { readonly op: 'create' | 'twin'; readonly slot: number }
  | { readonly op: 'destroy' | 'delete-oob'; readonly pick: number }
  | { readonly op: 'drop' | 'hang-after' | 'error' | 'allocation' | 'poll-error' | 'throttle' | 'list' };

const SLOTS = 3;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constantFrom('create' as const, 'twin' as const), slot: fc.nat(SLOTS - 1) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('destroy' as const, 'delete-oob' as const), pick: fc.nat(5) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constantFrom(
        'drop' as const,
        'hang-after' as const,
        'error' as const,
        'allocation' as const,
        'poll-error' as const,
        'throttle' as const,
        'list' as const,
      ),
    }),
  },
);

const FAULTS: Readonly<Record<string, Parameters<AzureSimulator['faults']['add']>[0]>> = {
  drop: {
    kind: 'drop-after',
    actions: ['VirtualMachines.CreateOrUpdate', 'NetworkInterfaces.CreateOrUpdate', 'VirtualMachines.Delete'],
    count: 1,
  },
  'hang-after': { kind: 'hang-after', actions: ['VirtualMachines.CreateOrUpdate'], count: 1 },
  error: {
    kind: 'error',
    status: 503,
    code: 'ServiceUnavailable',
    actions: ['VirtualMachines.CreateOrUpdate', 'VirtualMachines.Get'],
    count: 2,
  },
  allocation: { kind: 'error', actions: [ALLOCATE_ACTION], count: 1 },
  'poll-error': { kind: 'error', status: 500, actions: ['AsyncOperations.Get'], count: 2 },
  throttle: {
    kind: 'throttle',
    actions: ['VirtualMachines.CreateOrUpdate', 'VirtualMachines.List', 'NetworkInterfaces.Get'],
    delayMs: 1000,
    count: 3,
  },
};

function assertNoUpdate(sim: AzureSimulator): void {
  const bad = sim.puts.filter((p) => p.updatedInPlace || (p.existed && p.status !== 412));
  assert.deepEqual(bad, [], 'a VM PUT met an existing VM and was not refused');
}

describe('Azure provider: never an in-place update (property, against the simulator)', () => {
  it('holds under random faults, twins and deletes; then every slot converges with no orphaned NIC', async function () {
    this.timeout(120_000);
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
        const sim = await startSim({ throttling: false });
        const open = (): Promise<Provider> => providerFor(sim, { retry: { ...FAST_RETRY, attemptTimeoutMs: 150, maxAttempts: 4 } });
        const [a, b] = await Promise.all([open(), open()]);
        try {
          for (const step of ops) {
            await apply(sim, a!, b!, step);
            assertNoUpdate(sim);
          }
          sim.faults.clear();
          await converge(sim, a!);
          assertNoUpdate(sim);
        } finally {
          await sim.close();
        }
      }),
      { numRuns: 12 },
    );
  });
});

async function apply(sim: AzureSimulator, a: Provider, b: Provider, step: Op): Promise<void> {
  switch (step.op) {
    case 'create': {
      const created = await a.create(request('web', step.slot)).catch(() => undefined);
      if (created !== undefined) assert.equal(created.name, request('web', step.slot).name);
      return;
    }
    case 'twin': {
      await Promise.all([a, b].map((p) => p.create(request('web', step.slot)).catch(() => undefined)));
      return;
    }
    case 'destroy': {
      const listed = await a.list({ fleet: 'acme' }).catch(() => []);
      const victim = listed[step.pick % Math.max(1, listed.length)];
      if (victim !== undefined) await a.destroy(victim).catch(() => undefined);
      return;
    }
    case 'delete-oob': {
      const live = liveVms(sim);
      const victim = live[step.pick % Math.max(1, live.length)];
      if (victim !== undefined) sim.world.terminate(victim.id, 'out-of-band');
      return;
    }
    case 'list':
      await a.list({ fleet: 'acme' }).catch(() => undefined);
      return;
    default:
      sim.faults.add(FAULTS[step.op]!);
  }
}

/** Without faults: deletes finish, list notes orphans, each slot is created until it holds; then one VM and one attached NIC per slot. */
async function converge(sim: AzureSimulator, provider: Provider): Promise<void> {
  for (let round = 0; round < 4; round++) {
    await pause(60);
    await provider.list({ fleet: 'acme' });
    for (let slot = 0; slot < SLOTS; slot++) await provider.create(request('web', slot)).catch(() => undefined);
  }
  await pause(60);
  await provider.list({ fleet: 'acme' });
  await provider.create(request('web', 0));
  const live = liveVms(sim);
  assert.deepEqual(
    live.map((i) => i.name).sort(),
    [0, 1, 2].map((slot) => request('web', slot).name),
  );
  assert.deepEqual(
    live.map((i) => i.attributes['provisioningState']),
    ['Succeeded', 'Succeeded', 'Succeeded'],
  );
  const nics = sim.nics();
  assert.equal(nics.length, SLOTS, `NICs: ${nics.map((n) => n.name).join(', ')}`);
  assert.ok(
    nics.every((n) => n.virtualMachine !== undefined),
    'every NIC is attached',
  );
}
