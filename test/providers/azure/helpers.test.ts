import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { modelMismatch, nicName, throwawaySshKey, vmBody } from '../../../providers/azure/model.ts';
import { stateOf, statusOf } from '../../../providers/azure/tags.ts';
import { request } from './sim-fixtures.ts';

describe('Azure provider helpers', () => {
  it('maps provisioning and power states to drover states', () => {
    assert.equal(stateOf('Creating', undefined), 'pending');
    assert.equal(stateOf('Succeeded', 'starting'), 'pending');
    assert.equal(stateOf('Succeeded', 'running'), 'running');
    assert.equal(stateOf('Succeeded', 'deallocating'), 'stopping');
    assert.equal(stateOf('Succeeded', 'deallocated'), 'stopped');
    assert.equal(stateOf('Succeeded', undefined), 'pending', 'no power state yet: not ready');
    assert.equal(stateOf('Failed', 'running'), 'stopped', 'a failed VM is replaced at once');
    assert.equal(
      stateOf('Deleting', 'running'),
      'terminating',
      'an accepted delete is no capacity, but the VM counts against surge until gone',
    );
    assert.equal(stateOf('Succeeded', 'weird'), 'unknown');
  });

  it('reads instance view statuses, including the failure code', () => {
    assert.deepEqual(statusOf([{ code: 'ProvisioningState/failed/AllocationFailed' }, { code: 'PowerState/deallocated' }]), {
      power: 'deallocated',
      provisioning: 'failed',
      failure: 'AllocationFailed',
    });
    assert.deepEqual(statusOf(undefined), { power: undefined, provisioning: undefined, failure: undefined });
  });

  it('makes a valid throwaway ed25519 public key, a fresh one each time', () => {
    const key = throwawaySshKey();
    const [type, blob] = key.split(' ');
    assert.equal(type, 'ssh-ed25519');
    const raw = Buffer.from(blob ?? '', 'base64');
    assert.equal(raw.readUInt32BE(0), 11);
    assert.equal(raw.subarray(4, 15).toString(), 'ssh-ed25519');
    assert.equal(raw.readUInt32BE(15), 32);
    const spki = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw.subarray(19)]);
    assert.equal(createPublicKey({ key: spki, format: 'der', type: 'spki' }).asymmetricKeyType, 'ed25519');
    assert.notEqual(throwawaySshKey(), key);
  });

  it('an existing VM matches a request only with the same owner, template, slot, size, image and zone', () => {
    const req = request('web', 2, { zone: '2' });
    const vm = vmBody(req, 'westeurope', `/x/${nicName(req.name)}`, 'ssh-ed25519 AAAA');
    assert.equal(modelMismatch(vm, req), undefined);
    assert.equal(modelMismatch({ ...vm, tags: { ...vm.tags, 'drover:slot': '3' } }, req), 'its group, template or slot differ');
    assert.equal(modelMismatch({ ...vm, hardwareProfile: { vmSize: 'Standard_D2s_v5' } }, req), 'its size differs');
    assert.equal(modelMismatch({ ...vm, zones: ['1'] }, req), 'its zone differs');
    assert.equal(modelMismatch({ ...vm, tags: {} }, req), 'it does not carry this fleet id');
    assert.equal(vm.osProfile?.customData, Buffer.from('#cloud-config\nruncmd: [echo hi]\n').toString('base64'));
    assert.equal(vm.networkProfile?.networkInterfaces?.[0]?.deleteOption, 'Delete');
  });
});
