/**
 * The fleet-wide cap on Provider documents (`limits.maxProviders`, default 32): each Provider is a
 * lane (its own pass loop and, under HA, an etcd lease), so one commit declaring hundreds must not
 * make hundreds of lanes. A revision over the cap is rejected like an invalid one: the daemon's
 * source keeps the last good revision and reports the count, the cap and the setting.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { capInstances, DEFAULT_MAX_PROVIDERS, providerCapProblem } from '../../src/desired/instance-cap.ts';
import { loadFleet } from '../../src/desired/load.ts';
import { DirSource } from '../../src/reconcile/desired-source.ts';
import type { SourceChange } from '../../src/reconcile/desired-source.ts';
import { minimalFleet, writeFleet } from '../helpers/fleet-files.ts';

/** `count` Provider documents (no groups: each is still a lane). */
function providers(count: number): string {
  return Array.from(
    { length: count },
    (_, i) =>
      `apiVersion: drover/v1\nkind: Provider\nmetadata: { name: pve-x${String(i).padStart(3, '0')} }\nspec: { type: aws, region: eu-west-1 }\n`,
  ).join('---\n');
}

describe('fleet-wide Provider cap (limits.maxProviders)', () => {
  it('defaults to 32; a fleet at the cap passes, one over it is a problem at the first document over, naming count, cap and setting', async () => {
    assert.equal(DEFAULT_MAX_PROVIDERS, 32);
    const fleet = await writeFleet({ ...minimalFleet(), 'providers-many.yaml': providers(31) });
    try {
      const result = await loadFleet(fleet.dir);
      assert.ok(result.ok);
      assert.equal(Object.keys(result.state.providers).length, 32);
      assert.equal(providerCapProblem(result.state, 32), undefined);
      assert.ok(capInstances(result, 10_000).ok, 'at the default cap');
      const over = capInstances(result, 10_000, 31);
      assert.ok(!over.ok);
      assert.equal(over.problems.length, 1);
      const problem = over.problems[0]!;
      assert.equal(problem.code, 'fleet.tooManyProviders');
      assert.equal(problem.file, 'providers-many.yaml');
      assert.equal(problem.line, 1 + 5 * 30, 'the 32nd document in file order: pve-x030');
      assert.match(problem.message, /declares 32 Provider documents, over the operator's cap limits\.maxProviders = 31/);
      assert.match(problem.message, /pve-x030/);
      assert.match(problem.message, /--max-providers/);
    } finally {
      await fleet.cleanup();
    }
  });

  it('both caps report together when a revision is over both', async () => {
    const fleet = await writeFleet({ ...minimalFleet(), 'providers-many.yaml': providers(3) });
    try {
      const over = capInstances(await loadFleet(fleet.dir), 2, 2);
      assert.ok(!over.ok);
      assert.deepEqual(
        over.problems.map((p) => p.code),
        ['fleet.tooManyProviders', 'fleet.tooManyInstances'],
      );
    } finally {
      await fleet.cleanup();
    }
  });

  it('the daemon source rejects a revision over the cap and keeps the last good one', async () => {
    const fleet = await writeFleet(minimalFleet());
    try {
      const changes: SourceChange[] = [];
      const source = new DirSource(fleet.dir, 10_000, 4);
      await source.start((change) => void changes.push(change));
      const good = source.current()?.revision;
      assert.ok(good !== undefined);
      await writeFile(path.join(fleet.dir, 'providers-many.yaml'), providers(300));
      await source.refresh();
      assert.equal(source.current()?.revision, good, 'the last good revision stays in force');
      assert.equal(Object.keys(source.current()!.state.providers).length, 1);
      const view = source.view();
      assert.equal(view.lastAttemptError?.reason, 'InvalidRevision');
      assert.match(view.lastAttemptError?.message ?? '', /301 Provider documents.*limits\.maxProviders = 4/);
      assert.ok(changes.some((c) => c.kind === 'rejected'));
    } finally {
      await fleet.cleanup();
    }
  });
});
