/**
 * Property test of the ClientToken scheme against the simulator: under any interleaving of creates,
 * destroys, out-of-band terminations, lost responses, 5xx, hangs, token-mode changes, Git revision
 * changes and drover restarts, a slot never has two live instances, and a create that resolves
 * returns the slot's one live instance.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Ec2Simulator } from '../../../providers/aws/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { FAST_RETRY, liveIn, providerFor, request, startSim } from './fixtures.ts';

type Op =
  | { readonly op: 'create'; readonly slot: number }
  | { readonly op: 'destroy' | 'terminate-oob'; readonly pick: number }
  | { readonly op: 'drop' | 'hang' | 'hang-after' | 'error' | 'mode' | 'restart' | 'list' | 'revision' };

const SLOTS = 3;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('create' as const), slot: fc.nat(SLOTS - 1) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constantFrom('destroy' as const, 'terminate-oob' as const), pick: fc.nat(5) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constantFrom('drop' as const, 'error' as const, 'mode' as const, 'restart' as const, 'list' as const, 'revision' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('hang' as const, 'hang-after' as const) }) },
);

function liveBySlot(sim: Ec2Simulator): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const i of liveIn(sim)) {
    const slot = i.tags['drover:slot'] ?? '?';
    out.set(slot, [...(out.get(slot) ?? []), i.id]);
  }
  return out;
}

/** Highest ClientToken generation launched so far (coverage: the dead-slot path must be exercised). */
function maxGeneration(sim: Ec2Simulator): number {
  return Math.max(0, ...sim.world.all().map((i) => Number(/-(\d+)$/.exec(String(i.attributes['clientToken']))?.[1] ?? 0)));
}

function assertOnePerSlot(sim: Ec2Simulator): void {
  for (const [slot, ids] of liveBySlot(sim)) assert.ok(ids.length <= 1, `slot ${slot} has ${ids.length} live instances`);
}

describe('AWS ClientToken scheme (property, against the simulator)', () => {
  let sim: Ec2Simulator;

  const open = (): Promise<Provider> => providerFor(sim, { retry: { ...FAST_RETRY, attemptTimeoutMs: 150, maxAttempts: 4 } });

  before(async () => {
    sim = await startSim({ throttling: false });
  });
  after(() => sim.close());

  it('never two live instances per slot; a resolved create is the slot’s live instance', async function () {
    this.timeout(60_000);
    let generations = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 14 }), async (ops) => {
        await fetch(`${sim.url}/_sim/reset`, { method: 'POST' });
        let provider: Provider = await open();
        let revision = 1;
        try {
          for (const op of ops) {
            provider = await step(op, provider, () => revision++, revision);
            assertOnePerSlot(sim);
          }
        } finally {
          await provider.close();
          generations = Math.max(generations, maxGeneration(sim));
        }
      }),
      { numRuns: 30, seed: Number(process.env['DROVER_PROPERTY_SEED'] ?? 4242) },
    );
    assert.ok(generations >= 1, `the runs relaunched dead slots (highest generation ${generations})`);
  });

  async function step(op: Op, provider: Provider, bump: () => number, revision: number): Promise<Provider> {
    const live = liveIn(sim);
    switch (op.op) {
      case 'create': {
        const created = await provider.create(request('web', op.slot, { revision: `rev${revision}` })).catch(() => undefined);
        if (created !== undefined) assert.deepEqual(liveBySlot(sim).get(String(op.slot)), [created.id]);
        return provider;
      }
      case 'destroy': {
        const target = live[op.pick % Math.max(1, live.length)];
        if (target !== undefined) {
          const listed = (await provider.list({ fleet: 'acme' }).catch(() => [])).find((i) => i.id === target.id);
          if (listed !== undefined) await provider.destroy(listed).catch(() => undefined);
        }
        return provider;
      }
      case 'terminate-oob': {
        const target = live[op.pick % Math.max(1, live.length)];
        if (target !== undefined) sim.world.terminate(target.id, 'out-of-band');
        return provider;
      }
      case 'drop':
        sim.faults.add({ kind: 'drop-after', actions: ['RunInstances'], count: 1 });
        return provider;
      case 'hang':
        sim.faults.add({ kind: 'hang', actions: ['RunInstances', 'DescribeInstances'], count: 1 });
        return provider;
      case 'hang-after':
        sim.faults.add({ kind: 'hang-after', actions: ['RunInstances'], count: 1 });
        return provider;
      case 'error':
        sim.faults.add({ kind: 'error', code: 'InternalError', count: 2 });
        return provider;
      case 'mode':
        sim.settings.tokenMode = sim.settings.tokenMode === 'terminated-error' ? 'return-terminated' : 'terminated-error';
        return provider;
      case 'list':
        await provider.list({ fleet: 'acme' }).catch(() => undefined);
        return provider;
      case 'revision':
        bump();
        return provider;
      case 'restart':
        await provider.close();
        return open();
    }
  }
});
