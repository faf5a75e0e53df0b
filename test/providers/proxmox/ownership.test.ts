import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PveApiError } from '../../../providers/proxmox/client.ts';
import { classifyPve } from '../../../providers/proxmox/classify.ts';
import {
  ownershipDescription,
  ownershipFromDescription,
  ownershipFromTags,
  ownershipTags,
  templateDigest,
  templateDescription,
} from '../../../providers/proxmox/ownership.ts';
import { preferredVmid, probeOrder } from '../../../providers/proxmox/vmid.ts';
import { parseTagList, recordToTagList, tagsToRecord } from '../../../providers/proxmox/sim/tags.ts';

const PVE_TAG = /^[a-z0-9_][a-z0-9_+.-]*$/;
const name = fc.stringMatching(/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/);
const owner = fc.record({
  fleet: name,
  group: name,
  templateHash: fc.stringMatching(/^[0-9a-f]{12}$/),
  imageDigest: fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`),
  revision: fc.oneof(fc.stringMatching(/^[0-9a-f]{40}$/), fc.constant('rev')),
  slot: fc.nat(999),
});

describe('Proxmox ownership metadata', () => {
  it('tags always satisfy the PVE tag rules and read back to the same ownership', () => {
    fc.assert(
      fc.property(
        owner,
        fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/), fc.stringMatching(/^[a-z0-9_-]{0,10}$/)),
        (o, extra) => {
          const tags = ownershipTags(o, 1_700_000_000_000, extra);
          for (const tag of tags) assert.match(tag, PVE_TAG);
          const normalized = parseTagList(tags.join(';')).join(';'); // what PVE stores
          const read = ownershipFromTags(normalized);
          assert.deepEqual(
            [read.fleet, read.group, read.templateHash, read.slot, read.imageDigest, read.revision, read.createdAt],
            [o.fleet, o.group, o.templateHash, o.slot, o.imageDigest, o.revision, 1_700_000_000_000],
          );
        },
      ),
    );
  });

  it('the description block round-trips and fits in 8 KiB; templates carry their digest the same way', () => {
    fc.assert(
      fc.property(owner, (o) => {
        const text = ownershipDescription(o, 'web-1', 1_700_000_000_000);
        assert.ok(text.length <= 8192);
        assert.deepEqual(ownershipFromDescription(text), { ...o, createdAt: 1_700_000_000_000 });
      }),
    );
    assert.equal(templateDigest(templateDescription(`sha256:${'a'.repeat(64)}`), undefined), `sha256:${'a'.repeat(64)}`);
    assert.equal(templateDigest('free text only', 'drover-digest.sha256.' + 'b'.repeat(64)), `sha256:${'b'.repeat(64)}`);
    assert.equal(templateDigest('free text only', 'linux;web'), undefined);
  });

  it('the simulator stores PVE tag lists losslessly in the world record', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z0-9_][a-z0-9_+.-]{0,12}$/), { maxLength: 8 }), (tags) => {
        const normalized = parseTagList(tags.join(';'));
        assert.equal(recordToTagList(tagsToRecord(normalized)), normalized.join(';'));
      }),
    );
  });

  it('VMID probing starts at a deterministic preferred id and visits every id of the range once', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 100, max: 5000 }), fc.integer({ min: 0, max: 50 }), (key, min, extra) => {
        const range = { min, max: min + extra };
        const order = probeOrder(key, range, 1000);
        assert.equal(order[0], preferredVmid(key, range));
        assert.equal(new Set(order).size, extra + 1);
        assert.ok(order.every((id) => id >= range.min && id <= range.max));
      }),
    );
  });
});

function api(status: number, pveMessage: string, errors: Record<string, string> = {}): PveApiError {
  return new PveApiError({ status, pveMessage, errors, method: 'POST', path: '/x' });
}

describe('Proxmox error classification (status line and body, never a message match above this module)', () => {
  it('maps PVE answers to kinds and reasons', () => {
    const cases: [PveApiError, string, string][] = [
      [api(401, 'Authentication failed!'), 'Unauthorized', 'AuthenticationFailed'],
      [api(401, 'No ticket'), 'Unauthorized', 'AuthenticationFailed'],
      [api(403, 'Permission check failed (/vms/100, VM.Allocate)'), 'Unauthorized', 'PermissionDenied'],
      [api(400, 'Parameter verification failed.', { vmid: 'VM 100 already exists' }), 'Conflict', 'VmidTaken'],
      [api(500, "unable to create VM 100: VM 100 already exists on node 'pve1'"), 'Conflict', 'VmidTaken'],
      [api(400, 'Parameter verification failed.', { tags: 'invalid format' }), 'Invalid', 'ParameterVerificationFailed'],
      [api(500, "can't lock file '/var/lock/qemu-server/lock-9001.conf' - got timeout"), 'Conflict', 'LockTimeout'],
      [api(500, 'VM is locked (clone)'), 'Conflict', 'VmLocked'],
      [api(500, "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist"), 'NotFound', 'VmNotFound'],
      [api(500, 'VM 100 is running - destroy failed'), 'Conflict', 'VmRunning'],
      [api(500, 'VM 100 already running'), 'Conflict', 'VmAlreadyRunning'],
      [api(500, 'VM 100 not running'), 'Conflict', 'VmNotRunning'],
      [api(503, 'Service Unavailable'), 'Transient', 'Unavailable'],
      [api(595, "no such node 'pve9'"), 'Transient', 'Unavailable'],
      [api(500, 'something odd'), 'Transient', 'ServerError'],
    ];
    for (const [error, kind, reason] of cases) assert.deepEqual(classifyPve(error), { kind, reason }, error.message);
    assert.deepEqual(classifyPve(Object.assign(new Error('x'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })), {
      kind: 'Unauthorized',
      reason: 'TlsVerificationFailed',
    });
    assert.deepEqual(classifyPve(new TypeError('fetch failed', { cause: Object.assign(new Error('c'), { code: 'ECONNREFUSED' }) })), {
      kind: 'Transient',
      reason: 'Network',
    });
  });
});
