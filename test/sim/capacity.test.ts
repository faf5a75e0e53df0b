import assert from 'node:assert/strict';
import {
  capacityByGroup,
  firstReadyAt,
  launchesAboveCeiling,
  liveAt,
  maxLiveBetween,
  minReadyBetween,
  readyAt,
} from '../../src/sim/capacity.ts';
import { VirtualClock } from '../../src/sim/clock.ts';
import { World } from '../../src/sim/world.ts';

const tags = (group: string) => ({ 'drover:fleet': 'f', 'drover:group': group });

describe('sim capacity helper', () => {
  it('computes ready and live per group over time, ignoring foreign instances', () => {
    const clock = new VirtualClock();
    let n = 0;
    const world = new World({ clock, cloud: 't', newId: () => `vm-${++n}`, latencies: { bootMs: 10, terminateMs: 5 } });
    const t0 = clock.now();
    const old = [1, 2].map(() => world.launch({ name: 'o', zone: 'z', image: 'i', machineType: 'm', tags: tags('web') }));
    world.launch({ name: 'x', zone: 'z', image: 'i', machineType: 'm' }); // foreign
    world.launch({ name: 'd', zone: 'z', image: 'i', machineType: 'm', tags: tags('db') });
    clock.advance(10);
    // rolling replacement of one instance, surge 1: new first, then delete old after ready
    const fresh = world.launch({ name: 'n', zone: 'z', image: 'i', machineType: 'm', tags: tags('web') });
    clock.advance(10);
    world.terminate(old[0]?.id ?? '');
    clock.advance(10);
    assert.equal(world.get(fresh.id)?.state, 'running');

    const groups = capacityByGroup(world.events(), { fleetTag: 'drover:fleet', fleet: 'f' });
    assert.deepEqual([...groups.keys()].sort(), ['db', 'web']);
    const web = groups.get('web');
    assert.ok(web);
    assert.equal(web.maxLive, 3);
    assert.equal(web.maxReady, 3);
    assert.equal(readyAt(web, t0 + 10), 2);
    assert.equal(minReadyBetween(web, t0 + 10), 2, 'never below 2 once ready');
    assert.equal(maxLiveBetween(web, t0 + 25), 2);
    assert.equal(firstReadyAt(web, 2), t0 + 10);
    assert.equal(minReadyBetween(web, t0), 0);
  });

  it('moves an instance between groups when its tag changes', () => {
    const clock = new VirtualClock();
    const world = new World({ clock, cloud: 't', newId: () => 'vm-1', latencies: { bootMs: 0 } });
    const vm = world.launch({ name: 'a', zone: 'z', image: 'i', machineType: 'm', tags: { 'drover:group': 'a' } });
    clock.advance(1);
    world.setTags(vm.id, { 'drover:group': 'b' });
    const groups = capacityByGroup(world.events());
    assert.equal(groups.get('a')?.samples.at(-1)?.live, 0);
    assert.equal(groups.get('b')?.samples.at(-1)?.ready, 1);
  });

  it('counts an instance being terminated as live until it is gone', () => {
    const clock = new VirtualClock();
    let n = 0;
    const world = new World({ clock, cloud: 't', newId: () => `vm-${++n}`, latencies: { bootMs: 0, terminateMs: 30 } });
    const t0 = clock.now();
    const [a] = [1, 2].map(() => world.launch({ name: 'o', zone: 'z', image: 'i', machineType: 'm', tags: tags('web') }));
    clock.advance(10);
    world.terminate(a?.id ?? '');
    // A surge-0 replacement launched as soon as the delete was accepted: 3 exist for 30 ms.
    world.launch({ name: 'n', zone: 'z', image: 'i', machineType: 'm', tags: tags('web') });
    clock.advance(40);
    world.list();
    const web = capacityByGroup(world.events()).get('web');
    assert.ok(web);
    assert.equal(liveAt(web, t0 + 20), 3, 'the terminating instance still counts');
    assert.equal(readyAt(web, t0 + 20), 2, 'but not as ready');
    assert.equal(liveAt(web, t0 + 45), 2, 'gone once terminated');
    assert.equal(web.maxLive, 3);
    const breaches = launchesAboveCeiling(world.events(), () => 2);
    assert.deepEqual(
      breaches.map((b) => [b.group, b.live, b.ceiling]),
      [['web', 3, 2]],
      'the launch on top of a terminating instance breaks a ceiling of 2',
    );
    assert.deepEqual(
      launchesAboveCeiling(world.events(), () => 2, { since: t0 + 11 }),
      [],
      'launches before `since` are not judged',
    );
  });
});
