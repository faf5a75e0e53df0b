import assert from 'node:assert/strict';
import type { LaunchFacts } from '../../src/contract/launch-facts.ts';
import { planGroup } from '../../src/plan/index.ts';
import { modifiedFields, tamperMessage } from '../../src/plan/tamper.ts';
import type { PlannedInstance } from '../../src/plan/types.ts';
import { ctx, execute, group, inst, makeReady, NEW, OLD, policy, T0 } from './helpers.ts';

const FULL: LaunchFacts = {
  machineType: 't3.small',
  cores: 2,
  memoryMiB: 2048,
  image: 'ami-1',
  subnet: 'subnet-1',
  network: 'vmbr0',
  instanceProfile: 'web',
  metadataOptions: 'HttpTokens=required',
  userData: 'sha256:aa',
  metadata: 'sha256:cc',
  securityGroups: ['sg-1', 'sg-2'],
  disks: ['10:gp3', '20:gp3'],
  tags: { team: 'a', env: 'prod' },
};

const steady = (n: number, over: Partial<PlannedInstance> = {}) =>
  Array.from({ length: n }, (_, i) => inst({ templateHash: NEW, slot: i, zone: ['a', 'b', 'c'][i % 3] as string, ...over }));

describe('plan/tamper: modifiedFields', () => {
  it('finds nothing when every fact matches, whatever the order of a set', () => {
    assert.deepEqual(modifiedFields(FULL, { ...FULL, securityGroups: ['sg-2', 'sg-1'] }), []);
  });

  it('names each scalar field that differs, and only it', () => {
    const changes: Record<string, unknown> = {
      machineType: 't3.large',
      cores: 4,
      memoryMiB: 4096,
      image: 'ami-2',
      subnet: 'subnet-2',
      network: 'vmbr1',
      instanceProfile: 'admin',
      metadataOptions: 'HttpTokens=optional',
      userData: 'sha256:bb',
      metadata: 'sha256:dd',
    };
    for (const [field, value] of Object.entries(changes)) {
      assert.deepEqual(modifiedFields(FULL, { ...FULL, [field]: value }), [field], field);
    }
  });

  it('compares a field only when both sides know it', () => {
    assert.deepEqual(modifiedFields({}, FULL), []);
    assert.deepEqual(modifiedFields(FULL, {}), []);
    assert.deepEqual(modifiedFields({ machineType: 'a' }, { image: 'b' }), []);
  });

  it('compares security groups as a set and disks as an ordered list', () => {
    assert.deepEqual(modifiedFields(FULL, { ...FULL, securityGroups: ['sg-1'] }), ['securityGroups']);
    assert.deepEqual(modifiedFields(FULL, { ...FULL, securityGroups: ['sg-1', 'sg-2', 'sg-3'] }), ['securityGroups']);
    assert.deepEqual(modifiedFields(FULL, { ...FULL, disks: ['20:gp3', '10:gp3'] }), ['disks']);
    assert.deepEqual(modifiedFields(FULL, { ...FULL, disks: ['10:gp3'] }), ['disks']);
  });

  it("names each of the template's tags missing or changed; tags it does not name are not compared", () => {
    assert.deepEqual(modifiedFields(FULL, { ...FULL, tags: { team: 'b', owner: 'x' } }), ['tags.env', 'tags.team']);
    assert.deepEqual(modifiedFields(FULL, { ...FULL, tags: { team: 'a', env: 'prod', extra: '1' } }), []);
    assert.deepEqual(modifiedFields({ tags: {} }, { tags: { anything: '1' } }), []);
    assert.deepEqual(modifiedFields({ tags: { constructor: 'x' } }, { tags: {} }), ['tags.constructor'], 'no prototype key is a tag');
  });

  it('names a seal whose value is not the one recorded, never one with no record', () => {
    const seals = {
      fingerprint: { now: 'b', recorded: 'a' },
      digest: { now: 'x', recorded: 'x' },
      timeCreated: { now: 't', recorded: undefined },
    };
    assert.deepEqual(modifiedFields({}, { seals }), ['fingerprint']);
  });

  it('counts every pending change, sorts and names each field once', () => {
    assert.deepEqual(
      modifiedFields(FULL, {
        ...FULL,
        machineType: 'x',
        pending: ['memory', 'cores'],
        seals: { machineType: { now: '1', recorded: '2' } },
      }),
      ['machineType', 'pending.cores', 'pending.memory'],
    );
  });

  it('never carries a value: the fields are names', () => {
    const fields = modifiedFields(FULL, { ...FULL, userData: 'sha256:secret-digest', tags: { team: 'secret-value', env: 'prod' } });
    assert.deepEqual(fields, ['tags.team', 'userData']);
    assert.ok(!tamperMessage([{ id: 'i-1', fields }]).includes('secret'));
  });

  it('names at most ten instances in a message, sorted by id, and counts the rest', () => {
    const found = Array.from({ length: 12 }, (_, i) => ({ id: `i-${String(12 - i).padStart(2, '0')}`, fields: ['image'] }));
    const message = tamperMessage(found);
    assert.match(message, /^12 instances were modified out of band: i-01 \(image\); i-02 \(image\);/);
    assert.match(message, /i-10 \(image\) and 2 more;/);
    assert.ok(!message.includes('i-11'));
  });
});

describe('plan/tamper: the planner', () => {
  it('replaces a modified ready instance under the rollout limits: surge first, the delete once the replacement is available', () => {
    const g = group();
    let world = steady(3);
    world[1] = { ...(world[1] as PlannedInstance), modified: ['machineType'] };
    const first = planGroup(g, world, ctx());
    assert.deepEqual(first.deletes, [], 'maxUnavailable 0: nothing goes before its replacement is available');
    assert.equal(first.creates.length, 1, 'maxSurge 1');
    assert.equal(first.creates[0]?.templateHash, NEW);
    assert.equal(first.creates[0]?.slot, 3, 'slot 1 is still held by the modified instance');
    assert.notEqual(first.status.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    world = execute(world, first, T0 + 1000, 'n');
    world = makeReady(world, T0 + 2000);
    const early = planGroup(g, world, ctx(T0 + 5000));
    assert.deepEqual(early.deletes, [], 'the replacement is ready but not yet available (minReadySeconds 10)');
    const late = planGroup(g, world, ctx(T0 + 13_000));
    assert.deepEqual(
      late.deletes.map((d) => [d.id, d.reason]),
      [[world[1]?.id, 'drift-modified']],
    );
    assert.deepEqual(late.creates, []);
    assert.equal(late.status.conditions.find((c) => c.type === 'Degraded')?.reason, 'Drift');
  });

  it('with maxUnavailable and no surge, replaces at most maxUnavailable modified instances at once', () => {
    const g = group({ replicas: 4, rollout: policy({ maxSurge: 0, maxUnavailable: 1 }) });
    const world = steady(4, { modified: ['tags.team'] });
    const step = planGroup(g, world, ctx());
    assert.equal(step.deletes.length, 1);
    assert.equal(step.deletes[0]?.reason, 'drift-modified');
  });

  it('reports instead with drift.modified report: no action, Tampered=True naming the instances and fields', () => {
    const g = group({ drift: { modified: 'report' } });
    const world = steady(3);
    world[0] = { ...(world[0] as PlannedInstance), modified: ['image', 'machineType'] };
    world[2] = { ...(world[2] as PlannedInstance), modified: ['tags.team'] };
    const step = planGroup(g, world, ctx());
    assert.deepEqual(step.creates, []);
    assert.deepEqual(step.deletes, []);
    const tampered = step.status.conditions.find((c) => c.type === 'Tampered');
    assert.equal(tampered?.status, 'True');
    assert.equal(tampered?.reason, 'Modified');
    assert.equal(
      tampered?.message,
      `2 instances were modified out of band: ${world[0]?.id} (image, machineType); ${world[2]?.id} (tags.team); drift.modified is report, so nothing is replaced`,
    );
    assert.equal(step.status.conditions.find((c) => c.type === 'Ready')?.status, 'True', 'reported, still serving');
  });

  it('has no Tampered condition when nothing is modified, nor when the group replaces', () => {
    assert.equal(planGroup(group({ drift: { modified: 'report' } }), steady(3), ctx()).status.conditions.length, 4);
    const world = steady(3);
    world[0] = { ...(world[0] as PlannedInstance), modified: ['image'] };
    assert.equal(
      planGroup(group(), world, ctx()).status.conditions.find((c) => c.type === 'Tampered'),
      undefined,
    );
  });

  it('replaces through the rolling limits in a canary or blue-green group: one instance, not a new set nor a hold', () => {
    for (const strategy of ['canary', 'blue-green'] as const) {
      const rollout = policy({
        strategy,
        canary: strategy === 'canary' ? { count: 1, promote: undefined, bakeSeconds: undefined } : undefined,
      });
      const world = steady(3);
      world[2] = { ...(world[2] as PlannedInstance), modified: ['subnet'] };
      const step = planGroup(group({ rollout }), world, ctx());
      assert.equal(step.creates.length, 1, strategy);
      assert.ok(!step.waits.some((w) => w.reason === 'canary-promotion'), strategy);
    }
  });

  it('leaves a modified instance of the target alone while a rollout is under way; it goes once the rollout is done', () => {
    const world = [...steady(2), inst({ templateHash: OLD, slot: 5, zone: 'c' })];
    world[0] = { ...(world[0] as PlannedInstance), modified: ['image'] };
    const step = planGroup(group(), world, ctx());
    assert.ok(!step.deletes.some((d) => d.reason === 'drift-modified'));
    assert.ok(step.deletes.every((d) => d.templateHash === OLD));
  });

  it('never deletes a locked modified instance', () => {
    const world = steady(3, { modified: ['cores'] });
    world[0] = { ...(world[0] as PlannedInstance), locked: true };
    const step = planGroup(group({ rollout: policy({ maxSurge: 0, maxUnavailable: 3 }) }), world, ctx());
    assert.ok(!step.deletes.some((d) => d.id === world[0]?.id));
  });
});
