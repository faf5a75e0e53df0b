/**
 * drover never updates a VM in place. In ARM a PUT to an existing VM name IS an update, so these
 * tests prove, from the simulator's record of every VM PUT, that no code path of the provider
 * sends one: not on a retry after a lost response, not when the name is taken by a different VM,
 * not in a race where the VM appears between the provider's GET and its PUT.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { ProviderError } from '../../../src/contract/errors.ts';
import type { AzureSimulator } from '../../../providers/azure/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { clientsFor, IMAGE, liveVms, makeNic, providerFor, rejectionOf, request, RG, startSim, vmBody } from './sim-fixtures.ts';

describe('Azure provider: no code path updates an existing VM', () => {
  let sim: AzureSimulator;
  let provider: Provider;

  afterEach(async () => {
    assert.deepEqual(
      sim.puts.filter((p) => p.existed && p.status !== 412),
      [],
      'every PUT that met an existing VM was refused by If-None-Match',
    );
    assert.equal(sim.puts.filter((p) => p.updatedInPlace).length, 0);
    await provider.close();
    await sim.close();
  });

  it('a lost PUT response followed by a retry yields one VM and one PUT', async () => {
    sim = await startSim();
    provider = await providerFor(sim);
    sim.faults.add({ kind: 'drop-after', actions: ['VirtualMachines.CreateOrUpdate'], count: 1 });
    const created = await provider.create(request('web', 0));
    assert.equal(created.name, 'web-a1b2c3d4-0');
    assert.equal(liveVms(sim).length, 1);
    assert.deepEqual(
      sim.puts.map((p) => [p.existed, p.status]),
      [[false, 201]],
      'the retry found the VM by GET and sent no second PUT',
    );
    const again = await provider.create(request('web', 0));
    assert.equal(again.id, created.id, 'a repeated create adopts the same VM');
    assert.equal(sim.puts.length, 1);
    assert.equal(sim.nics().length, 1);
  });

  it('a PUT whose response never comes (deadline) is not repeated either', async () => {
    sim = await startSim();
    provider = await providerFor(sim, { retry: { attemptTimeoutMs: 300 } });
    sim.faults.add({ kind: 'hang-after', actions: ['VirtualMachines.CreateOrUpdate'], count: 1 });
    await provider.create(request('web', 0));
    assert.equal(liveVms(sim).length, 1);
    assert.equal(sim.puts.length, 1);
  });

  it('refuses (Conflict) when the name is taken by a VM with another model, without sending a PUT', async () => {
    sim = await startSim();
    provider = await providerFor(sim);
    const name = request('web', 0).name;
    sim.world.launch(
      {
        name,
        zone: '1',
        image: IMAGE,
        machineType: 'Standard_D4s_v5',
        tags: { 'drover:fleet': 'acme', 'drover:group': 'web', 'drover:template': 'a1b2c3d4e5f6', 'drover:slot': '0' },
        attributes: { resourceGroup: RG },
      },
      'out-of-band',
    );
    const refused = await rejectionOf(provider.create(request('web', 0)));
    assert.ok(refused instanceof ProviderError);
    assert.deepEqual([refused.kind, refused.reason], ['Conflict', 'VmModelMismatch']);
    assert.deepEqual(sim.puts, []);
    const pet = sim.world.launch(
      { name: request('web', 1).name, zone: '1', image: IMAGE, machineType: 'Standard_B2s', attributes: { resourceGroup: RG } },
      'out-of-band',
    );
    const foreign = await rejectionOf(provider.create(request('web', 1)));
    assert.equal((foreign as ProviderError).reason, 'VmModelMismatch', 'a VM without this fleet id is never adopted');
    assert.deepEqual(sim.world.get(pet.id)?.tags, {});
    assert.deepEqual(sim.puts, []);
    assert.equal(sim.world.all().find((i) => i.name === name)?.machineType, 'Standard_D4s_v5', 'the existing VM is untouched');
  });

  it('a VM that appears between the GET and the PUT is answered 412 and never modified', async () => {
    sim = await startSim({ factor: 1 });
    provider = await providerFor(sim, { pollIntervalMs: 20 });
    const { compute, network } = clientsFor(sim);
    const name = request('web', 0).name;
    // The NIC PUT is slow (a delay fault); meanwhile someone else creates a VM of the same name.
    sim.faults.add({ kind: 'delay', actions: ['NetworkInterfaces.CreateOrUpdate'], delayMs: 1500, count: 1 });
    const creating = rejectionOf(provider.create(request('web', 0)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const rivalNic = await makeNic(network, 'rival-nic');
    await compute.virtualMachines.createOrUpdate(RG, name, vmBody(rivalNic, { owner: 'someone' }), { ifNoneMatch: '*' }).submitted();
    const refused = await creating;
    assert.deepEqual([(refused as ProviderError).kind, (refused as ProviderError).reason], ['Conflict', 'VmModelMismatch']);
    assert.deepEqual(
      sim.puts.map((p) => [p.existed, p.status]),
      [
        [false, 201],
        [true, 412],
      ],
      "the rival created it; drover's PUT was refused",
    );
    assert.deepEqual(sim.world.all().find((i) => i.name === name)?.tags, { owner: 'someone' });
  });

  it('the provider source has exactly one VM PUT, and it carries If-None-Match: *', async () => {
    sim = await startSim();
    provider = await providerFor(sim);
    const dir = new URL('../../../providers/azure/', import.meta.url);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
    const sources = await Promise.all(files.map(async (f) => ({ f, text: await readFile(new URL(f, dir), 'utf8') })));
    const puts = sources.flatMap(({ f, text }) =>
      [...text.matchAll(/virtualMachines\.(createOrUpdate|beginCreateOrUpdate\w*|update|beginUpdate\w*)\(/g)].map((m) => ({
        f,
        at: m.index ?? 0,
        text,
      })),
    );
    assert.equal(puts.length, 1, JSON.stringify(puts.map((p) => p.f)));
    const call = puts[0]!.text.slice(puts[0]!.at, puts[0]!.text.indexOf(');', puts[0]!.at));
    assert.match(call, /ifNoneMatch: '\*'/);
  });
});
