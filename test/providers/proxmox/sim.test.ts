import assert from 'node:assert/strict';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import { data, liveVms, raw, type RawResponse, startSim, TEMPLATE_VMID, waitTask } from './fixtures.ts';

function resourcesOf(response: RawResponse): Record<string, unknown>[] {
  return Array.isArray(response.body?.data) ? (response.body.data as Record<string, unknown>[]) : [];
}

const CLONE = `/nodes/pve1/qemu/${TEMPLATE_VMID}/clone`;

describe('PVE simulator: the API as Proxmox answers it', () => {
  let sim: ProxmoxSimulator;
  beforeEach(async () => {
    sim = await startSim();
  });
  afterEach(() => sim.close());

  it('authenticates API tokens: no header → 401 No ticket, a bad token → 401 Authentication failed!, both without a body', async () => {
    const none = await raw(sim, 'GET', '/cluster/resources', {}, '');
    assert.deepEqual([none.status, none.statusText, none.body], [401, 'No ticket', undefined]);
    for (const header of [`PVEAPIToken=${sim.tokenId}=wrong`, 'PVEAPIToken=root@pam!x=y', 'Bearer abc', `PVEAPIToken=${sim.tokenId}`]) {
      const bad = await raw(sim, 'GET', '/cluster/resources', {}, header);
      assert.deepEqual([bad.status, bad.statusText, bad.body], [401, 'Authentication failed!', undefined], header);
    }
    assert.equal((await raw(sim, 'GET', '/cluster/resources')).status, 200);
  });

  it('nextid suggests the lowest free VMID and refuses a taken one with Parameter verification failed', async () => {
    assert.equal((await raw(sim, 'GET', '/cluster/nextid')).body?.data, '100');
    const upid = (await raw(sim, 'POST', CLONE, { newid: '100', name: 'a' })).body?.data as string;
    const taken = await raw(sim, 'GET', '/cluster/nextid', { vmid: '100' });
    assert.equal(taken.status, 400);
    assert.equal(taken.statusText, 'Parameter verification failed.');
    assert.match(taken.body?.errors?.['vmid'] ?? '', /VM 100 already exists/);
    assert.equal((await raw(sim, 'GET', '/cluster/nextid')).body?.data, '101');
    assert.equal(await waitTask(sim, upid), 'OK');
  });

  it('clones as a task naming the SOURCE template; the new VM is a nameless lock: clone config until the task ends, shown as `VM <vmid>`', async () => {
    sim.settings.linkedCloneMs = 5_000_000; // 5 s of wall time: still cloning while inspected, even on a loaded machine
    sim.settings.statusRefreshMs = 3_600_000;
    await raw(sim, 'GET', '/cluster/resources', { type: 'vm' }); // pvestatd's snapshot, taken before the clone
    const answer = await raw(sim, 'POST', CLONE, { newid: '120', name: 'web-1', target: 'pve2' });
    const upid = answer.body?.data as string;
    assert.match(upid, new RegExp(`^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmclone:${TEMPLATE_VMID}:drover@pve!sim:$`));
    const first = resourcesOf(await raw(sim, 'GET', '/cluster/resources', { type: 'vm' })).find((e) => e['vmid'] === 120);
    assert.deepEqual(
      [first?.['lock'], first?.['name'], first?.['status'], first?.['tags']],
      ['clone', undefined, 'unknown', undefined],
      'before pvestatd has seen it: no name, status unknown, but the lock (read live)',
    );
    sim.settings.statusRefreshMs = 0; // pvestatd's next round
    const vm = resourcesOf(await raw(sim, 'GET', '/cluster/resources', { type: 'vm' })).find((e) => e['vmid'] === 120);
    assert.deepEqual(
      [vm?.['lock'], vm?.['name'], vm?.['status'], vm?.['tags']],
      ['clone', 'VM 120', 'stopped', undefined],
      'pvestatd names a config without a name `VM <vmid>`',
    );
    assert.equal(vm?.['node'], 'pve1', 'the clone runs on the template node');
    const current = data(await raw(sim, 'GET', '/nodes/pve1/qemu/120/status/current'));
    assert.deepEqual([current['name'], current['lock'], current['status']], ['VM 120', 'clone', 'stopped']);
    assert.deepEqual(
      data(await raw(sim, 'GET', '/nodes/pve1/qemu/120/config')),
      { lock: 'clone', digest: data(await raw(sim, 'GET', '/nodes/pve1/qemu/120/config'))['digest'] },
      'the temporary config holds only the lock',
    );
    const active = resourcesOf(
      await raw(sim, 'GET', '/nodes/pve1/tasks', { source: 'active', typefilter: 'qmclone', vmid: String(TEMPLATE_VMID) }),
    );
    assert.deepEqual(
      active.map((t) => [t['upid'], t['status'], t['user'], t['tokenid'], t['id']]),
      [[upid, 'RUNNING', 'drover@pve', 'sim', String(TEMPLATE_VMID)]],
    );
    const log = resourcesOf(await raw(sim, 'GET', `/nodes/pve1/tasks/${encodeURIComponent(upid)}/log`, { limit: '5' }));
    assert.deepEqual(log[0], { n: 1, t: `creating a clone of VM ${TEMPLATE_VMID} with ID 120` });
    sim.settings.statusRefreshMs = 10_000;
    const locked = await raw(sim, 'PUT', '/nodes/pve1/qemu/120/config', { tags: 'x' });
    assert.deepEqual([locked.status, locked.statusText, locked.body?.message], [500, 'VM is locked (clone)', 'VM is locked (clone)\n']);
    const running = data(await raw(sim, 'GET', `/nodes/pve1/tasks/${encodeURIComponent(upid)}/status`));
    assert.equal(running['status'], 'running');
    sim.settings.linkedCloneMs = 2000;
  });

  it('a linked clone inherits the template tags and description; a given description wins; the VM lands stopped on the target', async () => {
    assert.equal(
      await waitTask(sim, (await raw(sim, 'POST', CLONE, { newid: '130', name: 'inherit', target: 'pve3' })).body?.data as string),
      'OK',
    );
    const inherited = data(await raw(sim, 'GET', '/nodes/pve3/qemu/130/config'));
    assert.match(String(inherited['tags']), /^drover-digest\.sha256\.[0-9a-f]{64}$/);
    assert.match(String(inherited['description']), /digest=sha256:/);
    assert.equal(inherited['name'], 'inherit');
    assert.equal(
      await waitTask(sim, (await raw(sim, 'POST', CLONE, { newid: '131', name: 'own', description: 'mine' })).body?.data as string),
      'OK',
    );
    assert.equal(data(await raw(sim, 'GET', '/nodes/pve1/qemu/131/config'))['description'], 'mine');
    const status = data(await raw(sim, 'GET', '/nodes/pve3/qemu/130/status/current'));
    assert.equal(status['status'], 'stopped');
    const elsewhere = await raw(sim, 'GET', '/nodes/pve1/qemu/130/config');
    assert.deepEqual(
      [elsewhere.status, elsewhere.statusText],
      [500, "Configuration file 'nodes/pve1/qemu-server/130.conf' does not exist"],
    );
  });

  it('refuses what PVE refuses at clone time: taken VMID, storage on a linked clone, target from local storage, unknown pool', async () => {
    await raw(sim, 'POST', CLONE, { newid: '140' });
    const taken = await raw(sim, 'POST', CLONE, { newid: '140' });
    assert.equal(taken.status, 500);
    assert.match(taken.statusText, /VM 140 already exists on node/);
    const linked = await raw(sim, 'POST', CLONE, { newid: '141', storage: 'local-lvm' });
    assert.equal(linked.status, 400);
    assert.match(linked.body?.errors?.['storage'] ?? '', /not allowed for linked clones/);
    sim.addTemplate({ vmid: 9100, node: 'pve2', storage: 'local-lvm' });
    const local = await raw(sim, 'POST', '/nodes/pve2/qemu/9100/clone', { newid: '142', target: 'pve1' });
    assert.deepEqual([local.status, local.statusText], [500, "can't clone VM to node 'pve1' (VM uses local storage)"]);
    const pool = await raw(sim, 'POST', CLONE, { newid: '143', pool: 'nope' });
    assert.deepEqual([pool.status, pool.statusText], [500, "pool 'nope' does not exist"]);
  });

  it('parallel full clones onto one storage beyond the limit fail with the storage lock timeout, like PVE', async () => {
    sim.settings.storageCloneLimit = 2;
    sim.settings.fullCloneMs = 2_000_000; // 2 s of wall time at factor 1000: the four requests overlap even on a loaded machine
    const answers = await Promise.all(
      [150, 151, 152, 153].map((id) => raw(sim, 'POST', CLONE, { newid: String(id), full: '1', storage: 'local-lvm' })),
    );
    const failed = answers.filter((a) => a.status !== 200);
    assert.equal(failed.length, 2);
    for (const f of failed) {
      assert.equal(f.status, 500);
      assert.equal(f.statusText, `can't lock file '/var/lock/qemu-server/lock-${TEMPLATE_VMID}.conf' - got timeout`);
      assert.equal(f.body?.message, `can't lock file '/var/lock/qemu-server/lock-${TEMPLATE_VMID}.conf' - got timeout\n`);
    }
    for (const a of answers.filter((x) => x.status === 200)) assert.equal(await waitTask(sim, a.body?.data as string), 'OK');
    assert.equal(
      (await raw(sim, 'POST', CLONE, { newid: '154', full: '1', storage: 'local-lvm' })).status,
      200,
      'the lock is free again once the copies end',
    );
  });

  it('applies PVE tag rules (lowercased, sorted, de-duplicated; invalid characters refused), description ≤ 8 KiB and URL-encoded ssh keys', async () => {
    await waitTask(sim, (await raw(sim, 'POST', CLONE, { newid: '160', name: 'cfg' })).body?.data as string);
    assert.equal(
      (
        await raw(sim, 'PUT', '/nodes/pve1/qemu/160/config', {
          tags: 'Zeta;alpha,beta alpha',
          sshkeys: encodeURIComponent('ssh-ed25519 AAAAC3Nza key@x'),
          ipconfig0: 'ip=10.0.0.5/24,gw=10.0.0.1',
          ciuser: 'ops',
        })
      ).status,
      200,
    );
    const config = data(await raw(sim, 'GET', '/nodes/pve1/qemu/160/config'));
    assert.equal(config['tags'], 'alpha;beta;zeta');
    assert.equal(decodeURIComponent(String(config['sshkeys'])), 'ssh-ed25519 AAAAC3Nza key@x');
    const bad = await raw(sim, 'PUT', '/nodes/pve1/qemu/160/config', { tags: 'owner=me' });
    assert.equal(bad.status, 400);
    assert.match(bad.body?.errors?.['tags'] ?? '', /invalid characters/);
    const long = await raw(sim, 'PUT', '/nodes/pve1/qemu/160/config', { description: 'x'.repeat(8193) });
    assert.match(long.body?.errors?.['description'] ?? '', /8192/);
    const unencoded = await raw(sim, 'PUT', '/nodes/pve1/qemu/160/config', { sshkeys: 'ssh-ed25519 AAAA key' });
    assert.equal(unencoded.body?.errors?.['sshkeys'], 'invalid urlencoded string');
    const skip = await raw(sim, 'PUT', '/nodes/pve1/qemu/160/config', { tags: 'a', skiplock: '1' });
    assert.equal(skip.status, 403, 'an API token can never skiplock');
  });

  it('refuses to destroy a running VM; stop, then DELETE with purge removes it', async () => {
    await waitTask(sim, (await raw(sim, 'POST', CLONE, { newid: '170', name: 'run' })).body?.data as string);
    assert.equal(await waitTask(sim, (await raw(sim, 'POST', '/nodes/pve1/qemu/170/status/start')).body?.data as string), 'OK');
    const again = await raw(sim, 'POST', '/nodes/pve1/qemu/170/status/start');
    assert.deepEqual([again.status, again.statusText], [500, 'VM 170 already running']);
    const refused = await raw(sim, 'DELETE', '/nodes/pve1/qemu/170', { purge: '1' });
    assert.deepEqual([refused.status, refused.statusText], [500, 'VM 170 is running - destroy failed']);
    assert.equal(await waitTask(sim, (await raw(sim, 'POST', '/nodes/pve1/qemu/170/status/stop')).body?.data as string), 'OK');
    assert.equal(
      await waitTask(
        sim,
        (await raw(sim, 'DELETE', '/nodes/pve1/qemu/170', { purge: '1', 'destroy-unreferenced-disks': '1' })).body?.data as string,
      ),
      'OK',
    );
    assert.equal(liveVms(sim).length, 0);
    assert.equal((await raw(sim, 'GET', '/nodes/pve1/qemu/170/status/current')).status, 500);
  });

  it('a clone task can fail half-way (PVE removes the VM) or die (the VM stays in lock: clone for an operator)', async () => {
    sim.faults.add({ kind: 'boot-fail', count: 1 });
    const failed = await waitTask(sim, (await raw(sim, 'POST', CLONE, { newid: '180', name: 'fail' })).body?.data as string);
    assert.match(failed, /^clone failed: /);
    assert.equal(liveVms(sim).length, 0, 'the half-made VM was removed');
    sim.faults.add({ kind: 'boot-stuck', count: 1 });
    assert.equal(
      await waitTask(sim, (await raw(sim, 'POST', CLONE, { newid: '181', name: 'stuck' })).body?.data as string),
      'unexpected status',
    );
    const stuck = data(await raw(sim, 'GET', '/nodes/pve1/qemu/181/config'));
    assert.equal(stuck['lock'], 'clone');
    assert.equal(stuck['name'], undefined);
    assert.equal((await raw(sim, 'DELETE', '/nodes/pve1/qemu/181')).statusText, 'VM is locked (clone)');
  });

  it('task status needs the task node; /cluster/resources status and name lag behind status/current', async () => {
    sim.settings.statusRefreshMs = 3_600_000;
    sim.settings.linkedCloneMs = 1_500_000; // 1.5 s of wall time: still running when listed, even on a loaded machine
    const upid = (await raw(sim, 'POST', CLONE, { newid: '190', name: 'lag' })).body?.data as string;
    await raw(sim, 'GET', '/cluster/resources', { type: 'vm' }); // pvestatd takes its snapshot now
    const taskList = async (source?: string) =>
      resourcesOf(await raw(sim, 'GET', '/nodes/pve1/tasks', source === undefined ? {} : { source })).map((t) => String(t['upid']));
    assert.ok(!(await taskList()).includes(upid), 'the default task list shows finished tasks only');
    assert.ok((await taskList('active')).includes(upid));
    const wrongNode = await raw(sim, 'GET', `/nodes/pve2/tasks/${encodeURIComponent(upid)}/status`);
    assert.equal(wrongNode.body?.errors?.['upid'], 'no such task');
    await waitTask(sim, upid);
    assert.ok((await taskList()).includes(upid));
    await waitTask(sim, (await raw(sim, 'POST', '/nodes/pve1/qemu/190/status/start')).body?.data as string);
    const listed = resourcesOf(await raw(sim, 'GET', '/cluster/resources', { type: 'vm' })).find((e) => e['vmid'] === 190);
    assert.equal(listed?.['status'], 'stopped', 'the snapshot was taken while it was cloning');
    assert.equal(listed?.['name'], 'VM 190', 'and the name is still the placeholder of the copy window');
    assert.equal(data(await raw(sim, 'GET', '/nodes/pve1/qemu/190/status/current'))['status'], 'running');
  });

  it('POST config is a task; cores/memory changed on a running VM stay pending until the next start; shutdown is a task too', async () => {
    await waitTask(sim, (await raw(sim, 'POST', CLONE, { newid: '200', name: 'async' })).body?.data as string);
    const upid = (await raw(sim, 'POST', '/nodes/pve1/qemu/200/config', { ciuser: 'ops' })).body?.data as string;
    assert.match(upid, /:qmconfig:200:/);
    assert.equal(await waitTask(sim, upid), 'OK');
    assert.equal(data(await raw(sim, 'GET', '/nodes/pve1/qemu/200/config'))['ciuser'], 'ops');
    await waitTask(sim, (await raw(sim, 'POST', '/nodes/pve1/qemu/200/status/start')).body?.data as string);
    await raw(sim, 'PUT', '/nodes/pve1/qemu/200/config', { cores: '8' });
    // PVE's two views: pending values applied by default, the running config with current=1; the digest covers both.
    const current = data(await raw(sim, 'GET', '/nodes/pve1/qemu/200/config', { current: '1' }));
    const withPending = data(await raw(sim, 'GET', '/nodes/pve1/qemu/200/config'));
    assert.equal(current['cores'], 2, 'pending while running');
    assert.equal(withPending['cores'], 8, 'the pending value, without current=1');
    assert.equal(current['digest'], withPending['digest'], 'one config file, one digest');
    assert.equal(await waitTask(sim, (await raw(sim, 'POST', '/nodes/pve1/qemu/200/status/shutdown')).body?.data as string), 'OK');
    assert.equal(data(await raw(sim, 'GET', '/nodes/pve1/qemu/200/status/current'))['status'], 'stopped');
    await waitTask(sim, (await raw(sim, 'POST', '/nodes/pve1/qemu/200/status/start')).body?.data as string);
    assert.equal(data(await raw(sim, 'GET', '/nodes/pve1/qemu/200/config'))['cores'], 8, 'applied at the next start');
  });

  it('older PVE: errors only in the status line (bodyMessages false)', async () => {
    sim.settings.bodyMessages = false;
    const missing = await raw(sim, 'GET', '/nodes/pve1/qemu/555/config');
    assert.equal(missing.statusText, "Configuration file 'nodes/pve1/qemu-server/555.conf' does not exist");
    assert.deepEqual(missing.body, { data: null });
  });
});
