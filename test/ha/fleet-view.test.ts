/** FleetView: snapshots and watch events merge by revision, never going back. */
import assert from 'node:assert/strict';

import type { IKeyValue } from 'etcd3';

import { FleetView } from '../../src/ha/fleet-view.ts';
import { FleetKeys, prefixEnd } from '../../src/ha/keys.ts';

const keys = new FleetKeys('/d/f/');

function kv(key: string, value: object, create: number, mod = create, lease = '7'): IKeyValue {
  return {
    key: Buffer.from(key),
    value: Buffer.from(JSON.stringify(value)),
    create_revision: String(create),
    mod_revision: String(mod),
    version: '1',
    lease,
  };
}

describe('FleetView', () => {
  it('keeps a summary whose event arrives after a newer lanes snapshot', () => {
    const view = new FleetView(keys);
    view.applySnapshot(5, [], [], []);
    view.applySnapshot(9, [kv(keys.lane('x'), { replica: 'a', since: 's' }, 6)], []);
    const summary = { replica: 'a', token: '6', publishedAt: 't', data: { n: 1 } };
    view.applyEvent('put', kv(keys.summary('x'), summary, 8));
    assert.deepEqual(view.view([])[0]?.summary, summary);
  });

  it('ignores lane events a newer snapshot already covers, applies newer ones', () => {
    const view = new FleetView(keys);
    view.applySnapshot(10, [kv(keys.lane('x'), { replica: 'b', since: 's' }, 9)], []);
    view.applyEvent('delete', kv(keys.lane('x'), {}, 3, 8));
    assert.equal(view.lanes.get('x')?.replica, 'b', 'an old delete does not remove a newer key');
    view.applyEvent('delete', kv(keys.lane('x'), {}, 9, 11));
    assert.equal(view.lanes.has('x'), false);
    assert.equal(view.applySnapshot(10, [kv(keys.lane('x'), { replica: 'b', since: 's' }, 9)], []), false);
    assert.equal(view.lanes.has('x'), false, 'an older snapshot is refused');
  });

  it('orders suspensions with lanes: an older snapshot cannot undo a newer suspend, a newer one repairs a missed delete', () => {
    const view = new FleetView(keys);
    view.applySnapshot(5, [], [], [], []);
    view.applyEvent('put', kv(keys.suspension('web'), { suspended: true, by: 'a', at: 't' }, 7, 7, '0'));
    assert.deepEqual(view.suspensions.get('web'), { by: 'a', at: 't' });
    assert.equal(view.applySnapshot(6, [], [], undefined, []), false, 'a read older than the put is refused');
    assert.ok(view.suspensions.has('web'));
    view.applyEvent('put', kv(keys.suspension('api'), { nonsense: 1 }, 8, 8, '0'));
    assert.deepEqual(view.suspensions.get('api'), { by: '', at: '' }, 'a foreign value still suspends');
    view.applySnapshot(9, [], [], undefined, [kv(keys.suspension('api'), { suspended: true, by: 'b', at: 'u' }, 8, 9, '0')]);
    assert.deepEqual([...view.suspensions], [['api', { by: 'b', at: 'u' }]], 'the delete of web, missed by the watch, is repaired');
    assert.deepEqual(view.applyEvent('delete', kv(keys.suspension('api'), {}, 8, 10, '0')), { kind: 'suspension', name: 'api' });
    assert.equal(view.suspensions.size, 0);
  });

  it('lists desired lanes and lanes known from keys, with holder and token', () => {
    const view = new FleetView(keys);
    view.applySnapshot(4, [kv(keys.lane('b'), { replica: 'r', since: '2026-01-01T00:00:00Z' }, 3)], [kv(keys.replica('r'), {}, 2)]);
    assert.deepEqual(view.view(['a']), [{ lane: 'a' }, { lane: 'b', holder: { replica: 'r', token: '3', since: '2026-01-01T00:00:00Z' } }]);
    assert.deepEqual([...view.replicas], ['r']);
  });

  it('parses its own keys only, and ends prefixes right', () => {
    assert.equal(keys.root, '/d/f/');
    assert.deepEqual(keys.parse('/d/f/lanes/aws'), { kind: 'lane', name: 'aws' });
    assert.deepEqual(keys.parse('/d/f/trigger'), { kind: 'trigger' });
    assert.deepEqual(keys.parse('/d/f/fleet'), { kind: 'fleet' });
    assert.deepEqual(keys.parse('/d/f/suspensions/web'), { kind: 'suspension', name: 'web' });
    assert.equal(keys.parse('/d/g/lanes/aws'), undefined);
    assert.equal(keys.parse('/d/f/other/x'), undefined);
    assert.equal(prefixEnd('/d/f/').toString(), '/d/f0');
  });
});
