import assert from 'node:assert/strict';
import { ProviderError } from '../../../src/contract/errors.ts';
import { ownershipFromDescription } from '../../../providers/proxmox/ownership.ts';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { DIGEST, FLEET, liveVms, providerFor, raw, rejectionOf, request, SSH_KEY, startSim, TEMPLATE_VMID } from './fixtures.ts';

const PVE_TAG = /^[a-z0-9_][a-z0-9_+.-]*$/;

describe('Proxmox provider contract (undici over https against the PVE simulator)', () => {
  let sim: ProxmoxSimulator;
  let provider: Provider;
  beforeEach(async () => {
    sim = await startSim();
    provider = await providerFor(sim);
  });
  afterEach(async () => {
    await provider.close();
    await sim.close();
  });

  it('clones onto the slot node, sets ownership and cloud-init, starts it, and reports it running', async () => {
    const created = await provider.create(request('web', 1));
    assert.equal(created.zone, 'pve2');
    assert.equal(created.state, 'running');
    assert.deepEqual(
      [created.fleet, created.group, created.slot, created.templateHash, created.imageDigest, created.revision],
      [FLEET, 'web', 1, 'a1b2c3d4e5f6', DIGEST, 'rev1'],
    );
    const [vm] = liveVms(sim);
    assert.ok(vm);
    assert.equal(created.id, `pve2/${vm.attributes['vmid']}`);
    assert.equal(vm.state, 'running');
    const config = (await raw(sim, 'GET', `/nodes/pve2/qemu/${vm.attributes['vmid']}/config`)).body?.data as Record<
      string,
      string | number
    >;
    assert.equal(config['name'], 'web-a1b2c3d4-1');
    for (const tag of String(config['tags']).split(';')) assert.match(tag, PVE_TAG);
    assert.match(
      String(config['tags']),
      /drover-fleet\.acme;drover-group\.web;drover-rev\.rev1;drover-slot\.1;drover-template\.a1b2c3d4e5f6;team\.web/,
    );
    assert.deepEqual(ownershipFromDescription(String(config['description'])).slot, 1);
    assert.equal(config['ciuser'], 'ops');
    assert.equal(decodeURIComponent(String(config['sshkeys'])), SSH_KEY, 'keys URL-encoded once by us, once more by the form');
    assert.equal(config['ipconfig0'], 'ip=dhcp');
    assert.equal(config['cicustom'], 'user=local:snippets/web.yaml');
    assert.deepEqual([config['cores'], config['memory'], config['net0']], [4, 4096, 'virtio,bridge=vmbr1']);
    assert.match(String(config['scsi0']), /^local-lvm:vm-\d+-disk-0/, 'full clone onto spec.storage');
    assert.match(String(config['scsi1']), /^local-lvm:vm-\d+-disk-1,size=20G$/);
    assert.equal(config['pool'], 'drover');
  });

  it('lists the fleet in one inventory call plus status checks, never templates, other fleets or foreign VMs', async () => {
    await Promise.all([provider.create(request('web', 0)), provider.create(request('web', 1))]);
    sim.world.launch({ name: 'pet', zone: 'pve1', image: 'x', machineType: 'qemu', tags: { prod: '' } }, 'out-of-band');
    sim.world.launch(
      { name: 'other', zone: 'pve1', image: 'x', machineType: 'qemu', tags: { 'drover-fleet': 'someone-else', 'drover-group': 'web' } },
      'out-of-band',
    );
    sim.engine.calls.clear();
    const listed = await provider.list({ fleet: FLEET });
    assert.deepEqual(listed.map((i) => i.name).sort(), ['web-a1b2c3d4-0', 'web-a1b2c3d4-1']);
    assert.ok(listed.every((i) => i.locked === false && i.createdAt > 0));
    assert.equal(sim.engine.calls.counts()['resources'], 1);
  });

  it('is idempotent per slot: a concurrent repeat joins, a later repeat finds the VM instead of cloning again', async () => {
    const [a, b] = await Promise.all([provider.create(request('web', 0)), provider.create(request('web', 0))]);
    assert.equal(a.id, b.id);
    const again = await provider.create(request('web', 0));
    assert.equal(again.id, a.id);
    assert.equal(liveVms(sim).length, 1);
    assert.equal(sim.engine.calls.counts()['clone'], 1);
  });

  it('destroy stops then deletes with purge; gone is success; foreign VMs and templates are refused', async () => {
    const created = await provider.create(request('web', 0));
    await provider.destroy(created);
    assert.equal(liveVms(sim).length, 0);
    await provider.destroy(created);
    const pet = sim.world.launch({ name: 'pet', zone: 'pve1', image: 'x', machineType: 'qemu', tags: {} }, 'out-of-band');
    const stolen = { ...created, id: `pve1/${pet.attributes['vmid'] ?? pet.id}` };
    const refused = await rejectionOf(provider.destroy(stolen));
    assert.ok(refused instanceof ProviderError && refused.reason === 'NotOwned');
    const template = await rejectionOf(provider.destroy({ ...created, id: `pve1/${TEMPLATE_VMID}` }));
    assert.ok(template instanceof ProviderError && template.reason === 'NotOwned');
    assert.equal(liveVms(sim).length, 1, 'the foreign VM is untouched');
  });

  it('verifies the template digest from its description or tags', async () => {
    await provider.verifyImage({ name: 'web', digest: DIGEST, artifact: { template: TEMPLATE_VMID } });
    sim.addTemplate({ vmid: 9002, tags: ['drover-digest.sha256.' + 'a'.repeat(64)] });
    await provider.verifyImage({ name: 'web', digest: `sha256:${'a'.repeat(64)}`, artifact: { template: 9002 } });
    const reasons = async (digest: string, template: number | undefined) =>
      (
        (await rejectionOf(
          provider.verifyImage({ name: 'web', digest, artifact: template === undefined ? {} : { template } }),
        )) as ProviderError
      ).reason;
    assert.equal(await reasons(`sha256:${'f'.repeat(64)}`, TEMPLATE_VMID), 'ImageDigestMismatch');
    sim.addTemplate({ vmid: 9003 });
    assert.equal(await reasons(DIGEST, 9003), 'ImageDigestMismatch', 'a template without any digest is refused');
    assert.equal(await reasons(DIGEST, 9999), 'ImageNotFound');
    assert.equal(await reasons(DIGEST, undefined), 'ImageNotFound');
    const vm = await provider.create(request('web', 0));
    const notTemplate = await rejectionOf(
      provider.verifyImage({ name: 'web', digest: DIGEST, artifact: { template: Number(vm.id.split('/')[1]) } }),
    );
    assert.equal((notTemplate as ProviderError).reason, 'NotATemplate');
    assert.equal((notTemplate as ProviderError).kind, 'Invalid');
  });

  it('refuses what Proxmox could never do before cloning: inline user data, a node outside the provider', async () => {
    const inline = await rejectionOf(provider.create(request('web', 0, { template: { userData: '#cloud-config\nruncmd: [x]\n' } })));
    assert.deepEqual([(inline as ProviderError).kind, (inline as ProviderError).reason], ['Invalid', 'UserDataNotSnippet']);
    const node = await rejectionOf(provider.create(request('web', 0, { zone: 'pve9' })));
    assert.equal((node as ProviderError).reason, 'NodeNotAllowed');
    assert.equal(sim.engine.calls.counts()['clone'] ?? 0, 0);
  });

  it('reports a VM its own create is still working on as locked, so a concurrent pass does not take it for drift', async () => {
    sim.settings.startMs = 200_000;
    const creating = provider.create(request('web', 0));
    let listed: Awaited<ReturnType<Provider['list']>> = [];
    for (let i = 0; i < 200 && listed.length === 0; i++) {
      listed = (await provider.list({ fleet: FLEET })).filter((vm) => vm.templateHash !== undefined);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.deepEqual([listed[0]?.locked, listed[0]?.slot, listed[0]?.group], [true, 0, 'web']);
    await creating;
    assert.equal((await provider.list({ fleet: FLEET }))[0]?.locked, false);
  });

  it('waits out a lock other than clone, then acts', async () => {
    const created = await provider.create(request('web', 0));
    const vm = liveVms(sim)[0]!;
    sim.world.setAttributes(vm.id, { config: { ...(vm.attributes['config'] as object), lock: 'backup' } });
    setTimeout(() => {
      const now = sim.world.get(vm.id)!;
      const { lock: _lock, ...config } = now.attributes['config'] as Record<string, unknown>;
      sim.world.setAttributes(vm.id, { config });
    }, 60);
    const listed = await provider.list({ fleet: FLEET });
    assert.equal(listed[0]?.locked, true, 'reported locked while the backup runs');
    await provider.destroy(created);
    assert.equal(liveVms(sim).length, 0);
  });
});
