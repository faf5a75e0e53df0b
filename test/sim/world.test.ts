import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ScaledClock, VirtualClock } from '../../src/sim/clock.ts';
import { UnknownInstanceError, World } from '../../src/sim/world.ts';

function makeWorld(clock = new VirtualClock()): { clock: VirtualClock; world: World } {
  let n = 0;
  const world = new World({
    clock,
    cloud: 'test',
    newId: () => `vm-${++n}`,
    latencies: { bootMs: 20_000, stopMs: 10_000, terminateMs: 30_000, terminatedRetentionMs: 60_000 },
  });
  return { clock, world };
}

const launch = { name: 'a', zone: 'z1', image: 'img', machineType: 'small', tags: { 'drover:group': 'web' } };

describe('sim world', () => {
  it('boots pending → running after bootMs, stamping the scheduled time', () => {
    const { clock, world } = makeWorld();
    const t0 = clock.now();
    const vm = world.launch(launch);
    assert.equal(vm.state, 'pending');
    clock.advance(19_999);
    assert.equal(world.get(vm.id)?.state, 'pending');
    clock.advance(50_000); // observed late: the event still carries the boot time
    assert.equal(world.get(vm.id)?.state, 'running');
    const events = world.events();
    assert.deepEqual(
      events.map((e) => [e.from, e.to, e.at - t0, e.cause]),
      [
        [null, 'pending', 0, 'api'],
        ['pending', 'running', 20_000, 'lifecycle'],
      ],
    );
  });

  it('terminates through terminating, keeps terminated visible for the retention, then forgets it', () => {
    const { clock, world } = makeWorld();
    const vm = world.launch(launch);
    clock.advance(20_000);
    const change = world.terminate(vm.id);
    assert.equal(change.previous, 'running');
    assert.equal(change.instance.state, 'terminating');
    clock.advance(30_000);
    const dead = world.get(vm.id);
    assert.equal(dead?.state, 'terminated');
    assert.equal(dead?.address, undefined);
    assert.equal(world.terminate(vm.id).previous, 'terminated', 'terminating a dead instance is a no-op');
    clock.advance(60_000);
    assert.equal(world.get(vm.id), undefined);
    assert.throws(() => world.terminate(vm.id), UnknownInstanceError);
  });

  it('stops and starts', () => {
    const { clock, world } = makeWorld();
    const vm = world.launch(launch);
    clock.advance(20_000);
    world.stop(vm.id, 'out-of-band');
    assert.equal(world.get(vm.id)?.state, 'stopping');
    clock.advance(10_000);
    assert.equal(world.get(vm.id)?.state, 'stopped');
    world.start(vm.id);
    clock.advance(20_000);
    assert.equal(world.get(vm.id)?.state, 'running');
    assert.deepEqual(
      world.events().map((e) => e.to),
      ['pending', 'running', 'stopping', 'stopped', 'pending', 'running'],
    );
  });

  it('hides new instances from list for listLagMs (eventual consistency) but not from get', () => {
    const { clock, world } = makeWorld();
    world.setLatencies({ listLagMs: 5_000 });
    const vm = world.launch(launch);
    assert.equal(world.list().length, 0);
    assert.equal(world.get(vm.id)?.id, vm.id);
    assert.equal(world.all().length, 1);
    clock.advance(5_000);
    assert.equal(world.list().length, 1);
  });

  it('records tag changes with a snapshot of the tags', () => {
    const { world } = makeWorld();
    const vm = world.launch(launch);
    world.setTags(vm.id, { owner: 'x', 'drover:group': null }, 'out-of-band');
    const last = world.events().at(-1);
    assert.equal(last?.kind, 'tags');
    assert.deepEqual(last?.tags, { owner: 'x' });
  });

  it('runs on a scaled clock: 20 s of boot in 20 ms of wall time', async () => {
    const { world } = makeWorld(new ScaledClock({ factor: 1000 }) as unknown as VirtualClock);
    const vm = world.launch(launch);
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(world.get(vm.id)?.state, 'running');
  });
});

const ALLOWED = new Set([
  'null>pending',
  'pending>running',
  'pending>stopping',
  'pending>terminating',
  'pending>terminated',
  'running>stopping',
  'running>terminating',
  'stopping>stopped',
  'stopping>terminating',
  'stopped>pending',
  'stopped>terminating',
  'terminating>terminated',
]);

type WorldOp = { op: 'launch' | 'terminate' | 'stop' | 'start' | 'advance' | 'latency'; n: number };

describe('sim world (property)', () => {
  it('only legal transitions, each instance’s events in time order, with any interleaving and latency changes', () => {
    const opArb = fc.record({
      op: fc.constantFrom<WorldOp['op']>('launch', 'terminate', 'stop', 'start', 'advance', 'latency'),
      n: fc.nat(40_000),
    });
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const { clock, world } = makeWorld();
        const ids: string[] = [];
        for (const { op, n } of ops) {
          const id = ids[n % Math.max(1, ids.length)] ?? '';
          const alive = world.get(id) !== undefined;
          if (op === 'launch') ids.push(world.launch(launch).id);
          else if (op === 'advance') clock.advance(n);
          else if (op === 'latency') world.setLatencies({ bootMs: n, terminateMs: n / 2, stopMs: n / 4 });
          else if (alive) world[op](id);
        }
        clock.advance(200_000);
        const last = new Map<string, number>();
        for (const e of world.events()) {
          if (e.kind === 'state') assert.ok(ALLOWED.has(`${e.from}>${e.to}`), `${e.from}>${e.to}`);
          assert.ok(e.at >= (last.get(e.instanceId) ?? -Infinity), 'events of an instance in time order');
          last.set(e.instanceId, e.at);
        }
        for (const i of world.all())
          assert.ok(i.state === 'running' || i.state === 'stopped' || i.state === 'terminated', `settled: ${i.state}`);
      }),
      { numRuns: 200, seed: 7 },
    );
  });
});
