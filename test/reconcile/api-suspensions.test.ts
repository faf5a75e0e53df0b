import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DesiredState } from '../../src/contract/fleet.ts';
import { ApiSuspensions } from '../../src/reconcile/api-suspensions.ts';
import { StateDir } from '../../src/reconcile/state-dir.ts';

describe('API suspensions', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'drover-suspend-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const state = {
    groups: { web: { name: 'web', suspend: false }, api: { name: 'api', suspend: false }, db: { name: 'db', suspend: true } },
  } as unknown as DesiredState;

  it("survive a restart, add to Git's suspend and never lift it", async () => {
    const first = new ApiSuspensions(new StateDir(dir).suspensions);
    await first.set('web', true);
    await first.set('db', false);
    const restarted = new ApiSuspensions(new StateDir(dir).suspensions);
    await restarted.load();
    assert.deepEqual([...restarted.names], ['web']);
    const applied = restarted.apply(state);
    assert.deepEqual(
      Object.values(applied.groups).map((g) => [g.name, g.suspend]),
      [
        ['web', true],
        ['api', false],
        ['db', true],
      ],
    );
    assert.equal(state.groups['web']!.suspend, false, 'the desired state itself is not changed');
    await restarted.set('web', false);
    assert.equal(restarted.apply(state), state, 'nothing suspended: the same state');
  });

  it('a corrupt or foreign file means nothing is suspended through the API', async () => {
    for (const content of ['{not json', '{"web": true}', '[1, "api", null]']) {
      await writeFile(path.join(dir, 'suspended.json'), content);
      const suspensions = new ApiSuspensions(new StateDir(dir).suspensions);
      await suspensions.load();
      assert.deepEqual([...suspensions.names], content.includes('"api"') ? ['api'] : [], content);
    }
  });
});
