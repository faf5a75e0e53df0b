/**
 * The parameters drover sends and the simulator accepts, checked against the PVE API schema
 * (parameter names as listed by the PVE API viewer / the schema-generated `proxmox-api` model,
 * pve-manager 8.x). Catches typos such as `ipconfig` for `ipconfig0` on both sides.
 */
import assert from 'node:assert/strict';
import type { ProxmoxProviderSpec } from '../../../src/contract/fleet.ts';
import { cloneParams, configParams } from '../../../providers/proxmox/launch.ts';
import type { ProxmoxSimulator } from '../../../providers/proxmox/sim.ts';
import { configOf, raw, request, startSim, TEMPLATE_VMID } from './fixtures.ts';

/** POST /nodes/{node}/qemu/{vmid}/clone */
const CLONE = ['bwlimit', 'description', 'format', 'full', 'name', 'newid', 'pool', 'snapname', 'storage', 'target'];
/** PUT /nodes/{node}/qemu/{vmid}/config (indexed keys such as scsiN, netN, ipconfigN follow their patterns). */
const CONFIG = new Set([
  'acpi',
  'affinity',
  'agent',
  'arch',
  'args',
  'audio0',
  'autostart',
  'balloon',
  'bios',
  'boot',
  'bootdisk',
  'cdrom',
  'cicustom',
  'cipassword',
  'citype',
  'ciupgrade',
  'ciuser',
  'cores',
  'cpu',
  'cpulimit',
  'cpuunits',
  'delete',
  'description',
  'digest',
  'efidisk0',
  'force',
  'freeze',
  'hookscript',
  'hotplug',
  'hugepages',
  'ivshmem',
  'keephugepages',
  'keyboard',
  'kvm',
  'localtime',
  'lock',
  'machine',
  'memory',
  'migrate_downtime',
  'migrate_speed',
  'name',
  'nameserver',
  'numa',
  'onboot',
  'ostype',
  'protection',
  'reboot',
  'revert',
  'rng0',
  'scsihw',
  'searchdomain',
  'shares',
  'skiplock',
  'smbios1',
  'smp',
  'sockets',
  'spice_enhancements',
  'sshkeys',
  'startdate',
  'startup',
  'tablet',
  'tags',
  'tdf',
  'template',
  'tpmstate0',
  'vcpus',
  'vga',
  'vmgenid',
  'vmstatestorage',
  'watchdog',
]);
const INDEXED =
  /^(ipconfig[0-7]|net([0-9]|[12][0-9]|3[01])|scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5])|sata[0-5]|ide[0-3]|unused\d+|usb[0-4]|serial[0-3]|parallel[0-2]|hostpci[0-9]|numa[0-7])$/;

describe('Proxmox parameters against the PVE API schema', () => {
  let sim: ProxmoxSimulator;
  before(async () => {
    sim = await startSim();
  });
  after(() => sim.close());

  it('drover sends only schema parameters to clone and config', () => {
    const req = request('web', 0, {
      template: {
        disks: [
          { sizeGiB: 10, type: 'local-lvm' },
          { sizeGiB: 20, type: 'local-lvm' },
        ],
      },
    });
    const clone = cloneParams(req, configOf().spec as ProxmoxProviderSpec, 100, Date.now());
    for (const key of [...Object.keys(clone), 'target']) assert.ok(CLONE.includes(key), `clone parameter ${key}`);
    for (const key of Object.keys(configParams(req, Date.now(), 'pve-lab')))
      assert.ok(CONFIG.has(key) || INDEXED.test(key), `config parameter ${key}`);
  });

  it('the simulator accepts every schema clone parameter it models and refuses one outside the schema, as PVE does', async () => {
    const unknown = await raw(sim, 'POST', `/nodes/pve1/qemu/${TEMPLATE_VMID}/clone`, { newid: '200', tags: 'x' });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body?.errors?.['tags'] ?? '', /property is not defined in schema/);
    const all = await raw(sim, 'POST', `/nodes/pve1/qemu/${TEMPLATE_VMID}/clone`, {
      newid: '201',
      name: 'x',
      description: 'd',
      full: '1',
      storage: 'local-lvm',
      target: 'pve2',
      pool: 'drover',
      bwlimit: '0',
      format: 'raw',
      snapname: 'base',
    });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    const config = await raw(sim, 'PUT', `/nodes/pve1/qemu/${TEMPLATE_VMID}/config`, { bogus: '1' });
    assert.equal(config.status, 400);
  });
});
