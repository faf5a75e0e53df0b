import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AwsProviderOptions } from '../../../providers/aws/provider.ts';
import type { Ec2Simulator } from '../../../providers/aws/sim.ts';
import type { CreateRequest, ObservedInstance, Provider } from '../../../src/contract/provider.ts';
import { FAST_RETRY, FLEET, liveIn, pause, providerFor, request, startSim } from './fixtures.ts';

const wave = (slots: readonly number[], revision = 'rev1'): CreateRequest[] => slots.map((slot) => request('web', slot, { revision }));

function fulfilled(outcomes: readonly PromiseSettledResult<ObservedInstance>[]): ObservedInstance[] {
  return outcomes.map((o) => {
    if (o.status === 'rejected') throw o.reason;
    return o.value;
  });
}

/** Live instances per slot of `web`, from the simulator's world. */
function liveSlots(sim: Ec2Simulator): Map<number, number> {
  const out = new Map<number, number>();
  for (const vm of liveIn(sim)) {
    const tag = vm.tags['drover:slot'] ?? '';
    const index = Number(vm.attributes['launchIndex'] ?? 0);
    const slot = Number(tag.includes(',') ? tag.split(',')[index] : tag);
    out.set(slot, (out.get(slot) ?? 0) + 1);
  }
  return out;
}

describe('AWS batched launch (one RunInstances per wave, guarded by the launch ledger)', () => {
  let sim: Ec2Simulator;
  let stateDir: string;
  const providers: Provider[] = [];
  const open = async (options: AwsProviderOptions = {}, dir: string | undefined = stateDir): Promise<Provider> => {
    const p = await providerFor(sim, options, FLEET, dir);
    providers.push(p);
    await p.list({ fleet: FLEET }); // as every pass does first: a missing journal fences launches until then
    return p;
  };

  beforeEach(async () => {
    sim = await startSim();
    stateDir = mkdtempSync(path.join(tmpdir(), 'drover-ledger-'));
  });
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.close()));
    await sim.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('launches a wave of three slots with one RunInstances; each instance is its slot by launch index', async () => {
    const provider = await open();
    const created = fulfilled(await provider.createBatch!(wave([4, 5, 6])));
    assert.deepEqual(sim.engine.calls.counts()['RunInstances'], 1);
    assert.deepEqual(
      created.map((i) => [i.slot, i.name]),
      [
        [4, 'web-a1b2c3d4-4'],
        [5, 'web-a1b2c3d4-5'],
        [6, 'web-a1b2c3d4-6'],
      ],
    );
    assert.deepEqual(
      sim.world.all().map((vm) => vm.tags['drover:slot']),
      ['4,5,6', '4,5,6', '4,5,6'],
      'tags at launch name every slot',
    );
    const listed = await provider.list({ fleet: FLEET });
    assert.deepEqual(listed.map((i) => i.slot).sort(), [4, 5, 6]);
    assert.ok(listed.every((i) => i.locked !== true && i.group === 'web'));
  });

  it('a repeated batch (lost answer, retry, restart) returns the same instances: one per slot', async () => {
    const provider = await open();
    sim.faults.add({ kind: 'drop-after', actions: ['RunInstances'], count: 1 });
    const first = fulfilled(await provider.createBatch!(wave([0, 1, 2])));
    const restarted = await open();
    const again = fulfilled(await restarted.createBatch!(wave([0, 1, 2])));
    assert.deepEqual(
      again.map((i) => i.id),
      first.map((i) => i.id),
    );
    assert.deepEqual([...liveSlots(sim).values()], [1, 1, 1]);
  });

  it('holds a batch EC2 does not list yet in its slots (pending, locked), then shows the real instances', async () => {
    sim.world.setLatencies({ listLagMs: 600_000 }); // 600 ms of wall time at factor 1000
    const provider = await open();
    const created = fulfilled(await provider.createBatch!(wave([0, 1])));
    const early = await provider.list({ fleet: FLEET });
    assert.deepEqual(
      early.map((i) => [i.id, i.slot, i.state, i.locked]),
      created.map((i) => [i.id, i.slot, 'pending', true]),
    );
    await pause(700);
    const later = await provider.list({ fleet: FLEET });
    assert.deepEqual(later.map((i) => i.id).sort(), created.map((i) => i.id).sort());
    assert.ok(later.every((i) => i.locked !== true));
  });

  it('a slot launched alone is held too until listed, so no later batch can launch it again under another token', async () => {
    sim.world.setLatencies({ listLagMs: 600_000 });
    const provider = await open();
    const single = await provider.create(request('web', 0));
    const held = await provider.list({ fleet: FLEET });
    assert.deepEqual(
      held.map((i) => [i.id, i.slot, i.locked]),
      [[single.id, 0, true]],
    );
    const restarted = await open();
    assert.deepEqual(
      (await restarted.list({ fleet: FLEET })).map((i) => [i.slot, i.locked]),
      [[0, true]],
      'from the journal after a restart',
    );
    await pause(700);
    assert.deepEqual(
      (await restarted.list({ fleet: FLEET })).map((i) => [i.id, i.locked]),
      [[single.id, undefined]],
    );
  });

  it('after a crash with the answer lost, a restarted provider holds the slots from its journal until EC2 lists them', async () => {
    sim.world.setLatencies({ listLagMs: 800_000 });
    const provider = await open({ retry: { ...FAST_RETRY, maxAttempts: 1 } });
    sim.faults.add({ kind: 'drop-after', actions: ['RunInstances'], count: 1 });
    const lost = await provider.createBatch!(wave([0, 1, 2]));
    assert.ok(
      lost.every((o) => o.status === 'rejected'),
      'the answer was lost',
    );
    const restarted = await open();
    const held = await restarted.list({ fleet: FLEET });
    assert.deepEqual(
      held.map((i) => [i.slot, i.state, i.locked, i.id.startsWith('launching:')]),
      [
        [0, 'pending', true, true],
        [1, 'pending', true, true],
        [2, 'pending', true, true],
      ],
    );
    const refused = await restarted.destroy(held[0]!).catch((error: unknown) => error as { reason?: string });
    assert.equal(refused?.reason, 'LaunchNotListed', 'a stand-in is never sent to EC2');
    await pause(900);
    const listed = await restarted.list({ fleet: FLEET });
    assert.equal(listed.filter((i) => i.locked === true).length, 0);
    assert.deepEqual([...liveSlots(sim).values()], [1, 1, 1], 'one instance per slot');
  });

  it('forgets a batch that never launched once the list lag has passed and its token shows nothing', async () => {
    const provider = await open({ retry: { ...FAST_RETRY, maxAttempts: 1 }, listLagMs: 300 });
    sim.faults.add({ kind: 'error', code: 'InternalError', status: 500, actions: ['RunInstances'], count: 1 });
    const failed = await provider.createBatch!(wave([0, 1]));
    assert.ok(failed.every((o) => o.status === 'rejected'));
    assert.equal((await provider.list({ fleet: FLEET })).length, 2, 'a 500 may have launched it: held');
    await pause(350);
    assert.deepEqual(await provider.list({ fleet: FLEET }), [], 'nothing under its token after the lag: never launched');
    fulfilled(await provider.createBatch!(wave([0, 1])));
    assert.deepEqual([...liveSlots(sim).values()], [1, 1]);
  });

  it('a held launch whose fleet tag is removed out of band before EC2 lists it is let go after the list lag', async () => {
    sim.world.setLatencies({ listLagMs: 200_000 }); // 200 ms of wall time, within the provider's 300 ms lag
    const provider = await open({ listLagMs: 300 });
    const created = fulfilled(await provider.createBatch!(wave([0, 1])));
    sim.world.setTags(created[0]!.id, { 'drover:fleet': null }, 'out-of-band');
    assert.equal((await provider.list({ fleet: FLEET })).length, 2, 'both held while the lag may explain them');
    await pause(350);
    assert.deepEqual(
      (await provider.list({ fleet: FLEET })).map((i) => [i.id, i.locked]),
      [[created[1]!.id, undefined]],
      "the untagged one is no longer drover's: its slot is free",
    );
  });

  it('a batch whose instances all died launches again under the next generation', async () => {
    const provider = await open();
    const first = fulfilled(await provider.createBatch!(wave([0, 1])));
    for (const i of first) sim.world.terminate(i.id, 'out-of-band');
    await provider.list({ fleet: FLEET });
    const second = fulfilled(await provider.createBatch!(wave([0, 1], 'rev2')));
    assert.ok(second.every((i) => !first.some((f) => f.id === i.id)));
    assert.deepEqual([...liveSlots(sim).values()], [1, 1]);
  });

  it('a revert relaunches a wave whose earlier instances EC2 forgot at once (IdempotentParameterMismatch on a settled token spends it)', async () => {
    sim.world.setLatencies({ terminateMs: 10, terminatedRetentionMs: 10 });
    const before = await open();
    const first = fulfilled(await before.createBatch!(wave([0, 1], 'rev1')));
    await before.list({ fleet: FLEET }); // listed: the journal lets the launch go
    for (const i of first) sim.world.terminate(i.id, 'out-of-band');
    await pause(300);
    assert.ok(
      first.every((i) => sim.world.get(i.id) === undefined),
      'EC2 forgot the instances (but not their token)',
    );
    // Another holder (same journal) reverts to the template at another revision: same slots, same
    // token, other parameters. Its journal has no launch under that token in flight, so the token
    // is spent: it launches under the next generation now, not after the 60 s list lag.
    const restarted = await open({ listLagMs: 60_000 });
    const again = fulfilled(await restarted.createBatch!(wave([0, 1], 'rev3')));
    assert.ok(again.every((i) => !first.some((f) => f.id === i.id)));
    assert.deepEqual([...liveSlots(sim).entries()].sort(), [
      [0, 1],
      [1, 1],
    ]);
    assert.deepEqual(
      (await restarted.list({ fleet: FLEET })).map((i) => [i.slot, i.locked ?? false]).sort(),
      [
        [0, false],
        [1, false],
      ],
      'no locked stand-in is left behind',
    );
  });

  it('a mismatching token whose launch the journal still holds (not listed yet) stays in flight: never a second instance', async () => {
    sim.world.setLatencies({ listLagMs: 200_000 }); // 200 ms of wall time: EC2 shows nothing yet
    const before = await open({ listLagMs: 60_000 });
    fulfilled(await before.createBatch!(wave([0, 1], 'rev1')));
    const other = await open({ listLagMs: 60_000 });
    const outcomes = await other.createBatch!(wave([0, 1], 'rev2'));
    assert.deepEqual(
      outcomes.map((o) => (o.status === 'rejected' ? (o.reason as { reason?: string }).reason : 'launched')),
      ['IdempotentParameterMismatch', 'IdempotentParameterMismatch'],
    );
    assert.equal(sim.world.all().length, 2, 'one instance per slot');
  });

  it('without its journal, a provider whose fleet has instances waits out the list lag before launching', async () => {
    const before = await open();
    fulfilled(await before.createBatch!(wave([0, 1])));
    rmSync(path.join(stateDir), { recursive: true, force: true });
    const restarted = await open({ listLagMs: 400 });
    await restarted.list({ fleet: FLEET });
    const fenced = await restarted.createBatch!(wave([2, 3]));
    assert.deepEqual(
      fenced.map((o) => (o.status === 'rejected' ? (o.reason as { reason?: string }).reason : 'launched')),
      ['LaunchFenced', 'LaunchFenced'],
    );
    const single = await restarted.create(request('web', 2)).catch((error: unknown) => error as { reason?: string });
    assert.equal((single as { reason?: string }).reason, 'LaunchFenced', 'single launches wait too');
    // The refusal says when the fence ends (the reconcile loop retries then, without backing off).
    const wait = (single as { retryAfterMs?: number }).retryAfterMs;
    assert.ok(wait !== undefined && wait > 0 && wait <= 400, `retryAfterMs is the time left of the 400 ms fence: ${wait}`);
    await pause(450);
    fulfilled(await restarted.createBatch!(wave([2, 3])));
    assert.equal(liveIn(sim).length, 4);
  });

  it('a drover restarted during the fence waits only for what is left of it (a crash loop still launches)', async () => {
    const before = await open();
    fulfilled(await before.createBatch!(wave([0, 1])));
    rmSync(path.join(stateDir), { recursive: true, force: true });
    await open({ listLagMs: 600 });
    await pause(350);
    const restarted = await open({ listLagMs: 600 });
    assert.equal((await restarted.createBatch!(wave([2, 3])))[0]?.status, 'rejected', 'the first fence still holds');
    await pause(350);
    fulfilled(await restarted.createBatch!(wave([2, 3])));
    assert.equal(liveIn(sim).length, 4);
    rmSync(path.join(stateDir), { recursive: true, force: true });
    const wipedAgain = await open({ listLagMs: 600 });
    assert.equal((await wipedAgain.createBatch!(wave([4])))[0]?.status, 'rejected', 'a journal lost again fences again');
    const lowered = await open({ listLagMs: 50 });
    await pause(80);
    fulfilled(await lowered.createBatch!(wave([4])));
    assert.equal(liveIn(sim).length, 5, 'a journaled fence lasts at most one (lowered) list lag from now');
  });

  it('without its journal, an empty fleet launches at once; a corrupt journal counts as missing', async () => {
    writeFileSync(path.join(stateDir, 'launches.json'), '{"version":1,"launches":[{"token":1}]}');
    const provider = await open({ listLagMs: 60_000 });
    await provider.list({ fleet: FLEET });
    fulfilled(await provider.createBatch!(wave([0, 1])));
    const withInstances = await open({ listLagMs: 60_000 }, mkdtempSync(path.join(stateDir, 'other-'))); // inside stateDir: removed after the test
    await withInstances.list({ fleet: FLEET });
    assert.equal((await withInstances.createBatch!(wave([2, 3])))[0]?.status, 'rejected');
  });

  it('requests that do not share a zone are launched one by one', async () => {
    const provider = await open();
    const mixed = [request('web', 0, { zone: 'eu-west-1a' }), request('web', 1, { zone: 'eu-west-1b' })];
    const created = fulfilled(await provider.createBatch!(mixed));
    assert.deepEqual(
      created.map((i) => i.zone),
      ['eu-west-1a', 'eu-west-1b'],
    );
    assert.equal(sim.engine.calls.counts()['RunInstances'], 2);
    assert.deepEqual(
      sim.world
        .all()
        .map((vm) => vm.tags['drover:slot'])
        .sort(),
      ['0', '1'],
    );
  });
});
