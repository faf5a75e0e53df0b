/**
 * HA fencing on Proxmox VE (providers/fencing.ts, PveClient.request): every POST, PUT and DELETE —
 * clone, config, start, stop, delete — passes the lane holder's fence on each attempt and carries
 * its token; the clone's description and the clone journal record it; a refused fence sends
 * nothing more. Verdicts from the simulator's record of the calls and of the world.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fenceFromDescription, ownershipFromDescription } from '../../../providers/proxmox/ownership.ts';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { proxmox } from '../../clouds/proxmox.ts';
import { assertAllFenced, lostFence, mutatingCalls, rejectionOf, TestFence } from '../fence-fixtures.ts';
import { configOf, FLEET, liveVms, request, startSim } from './fixtures.ts';

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The description the clone call asked for and the one the VM's config carries now. */
function descriptions(vm: ReturnType<ProxmoxSimulator['world']['all']>[number]): [string | undefined, string | undefined] {
  const requested = vm.attributes['requested'] as { description?: unknown } | undefined;
  const config = vm.attributes['config'] as { description?: unknown } | undefined;
  return [text(requested?.description), text(config?.description)];
}

describe('proxmox provider: HA fencing', function () {
  this.timeout(20_000);
  let sim: ProxmoxSimulator;
  let stateDir: string;
  const providers: Provider[] = [];

  beforeEach(async () => {
    sim = await startSim();
    stateDir = mkdtempSync(path.join(tmpdir(), 'drover-pve-fence-'));
  });
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.close?.()));
    await sim.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  const open = async (fence?: TestFence): Promise<Provider> => {
    const start = { fleet: FLEET, stateDir };
    const provider = await proxmox.createProvider(configOf(), sim, fence === undefined ? start : { ...start, fence });
    providers.push(provider);
    return provider;
  };

  it('fences clone, config, start and delete; the description and the clone journal carry the token; reads carry none', async () => {
    const fence = new TestFence('4711');
    const provider = await open(fence);
    const created = await provider.create(request('web', 0));
    await provider.destroy(created);
    const actions = assertAllFenced(sim.engine, '4711');
    assert.ok(actions.includes('clone') && actions.includes('config.put') && actions.includes('delete'), actions.join());
    assert.equal(fence.checks, actions.length, 'one check per mutating attempt');
    const calls = sim.engine.calls.list();
    assert.equal(calls.filter((r) => r.fence !== undefined).length, actions.length, 'only mutating calls carry a fence');
    assert.ok(calls.length > actions.length, 'reads were made');
    const [vm] = sim.world.all();
    assert.ok(vm);
    const [requested, configured] = descriptions(vm);
    assert.deepEqual([fenceFromDescription(requested), fenceFromDescription(configured), proxmox.fenceOf(vm)], ['4711', '4711', '4711']);
    assert.equal(ownershipFromDescription(requested).slot, 0, 'the ownership block still reads');
  });

  it('records the token in the clone journal while the clone is in flight', async () => {
    sim.faults.add({ kind: 'delay', actions: ['clone'], delayMs: 60_000, count: 1 });
    const provider = await open(new TestFence('88'));
    const creating = provider.create(request('web', 0));
    const file = path.join(stateDir, 'clones.json');
    let records: { fencingToken?: string }[] = [];
    for (let i = 0; i < 200 && records.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      records = readJournal(file);
    }
    assert.deepEqual(
      records.map((r) => r.fencingToken),
      ['88'],
    );
    await creating;
  });

  it('a refused fence rejects create and destroy with its FenceLost and sends nothing', async () => {
    const victim = await (await open()).create(request('web', 5));
    const since = sim.engine.mutations.mutating().at(-1)!.seq;
    const fence = lostFence('12');
    const provider = await open(fence);
    assert.equal(await rejectionOf(provider.create(request('web', 0))), fence.refusal);
    assert.equal(fence.checks, 1, 'not retried');
    assert.equal(await rejectionOf(provider.destroy(victim)), fence.refusal);
    assert.equal(fence.checks, 2);
    assert.deepEqual(proxmox.mutatingCalls(sim, since), []);
    assert.deepEqual(
      liveVms(sim).map((vm) => vm.state),
      ['running'],
    );
  });

  it('does not retry a failed config write once the fence refuses', async () => {
    sim.faults.add({ kind: 'error', actions: ['config.put'], count: 1, status: 500, message: 'got timeout' });
    const fence = new TestFence('99', 2); // the clone, the first config write
    const provider = await open(fence);
    assert.equal(await rejectionOf(provider.create(request('web', 0))), fence.refusal);
    assert.equal(fence.checks, 3, 'checked before the retry');
    assert.deepEqual(
      mutatingCalls(sim.engine).map((r) => [r.action, r.status, r.fence]),
      [
        ['clone', 200, '99'],
        ['config.put', 500, '99'],
      ],
    );
  });

  it('without a fence sends no fence header and writes no fence line', async () => {
    const provider = await open();
    await provider.create(request('web', 0));
    assert.deepEqual(sim.engine.mutations.fenced(), []);
    assert.ok(mutatingCalls(sim.engine).length >= 3);
    const [vm] = sim.world.all();
    assert.deepEqual(descriptions(vm!).map(fenceFromDescription), [undefined, undefined]);
  });
});

function readJournal(file: string): { fencingToken?: string }[] {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as {
      clones?: { fencingToken?: string }[];
      records?: { fencingToken?: string }[];
    };
    return parsed.clones ?? parsed.records ?? [];
  } catch {
    return [];
  }
}
