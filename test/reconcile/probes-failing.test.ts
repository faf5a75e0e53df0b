/** judgeProbes: which scopes pause unhealthy replacement (a group, or a whole provider) and which do not. */
import assert from 'node:assert/strict';
import { loadFleetFiles } from '../../src/desired/load.ts';
import type { DesiredState } from '../../src/contract/fleet.ts';
import type { PlannedInstance } from '../../src/plan/types.ts';
import { judgeProbes, withheldFailures } from '../../src/reconcile/probes-failing.ts';

const DIGEST = `sha256:${'d'.repeat(64)}`;

/** A fleet with `groups` (name → replicas) on provider aws-eu, probed unless named in `unprobed`. */
function fleet(groups: Record<string, number>, unprobed: readonly string[] = []): DesiredState {
  const docs = [
    'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: f }\n',
    'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: ${DIGEST}\n  artifacts: { aws-eu: { id: ami-0123456789abcdef0 } }\n`,
    ...Object.entries(groups).map(
      ([name, replicas]) =>
        `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: ${name} }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: ${replicas}\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n${unprobed.includes(name) ? '' : '  health: { tcp: { port: 22 } }\n'}`,
    ),
  ];
  const loaded = loadFleetFiles([{ file: 'fleet.yaml', text: docs.join('---\n') }]);
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
  return loaded.state;
}

let seq = 0;
function instances(group: string, healthy: number, failing: number, verdict: PlannedInstance['failing'] = 'confirmed'): PlannedInstance[] {
  const one = (bad: boolean): PlannedInstance => {
    seq += 1;
    return {
      id: `i-${seq}`,
      name: `${group}-${seq}`,
      provider: 'aws-eu',
      zone: 'eu-west-1a',
      state: 'running',
      createdAt: 0,
      address: '127.0.0.9',
      fleet: 'f',
      group,
      templateHash: 'h',
      imageDigest: undefined,
      revision: undefined,
      slot: seq,
      observedSince: 0,
      ...(bad ? { failing: verdict } : { readySince: 0 }),
    };
  };
  return [...Array.from({ length: healthy }, () => one(false)), ...Array.from({ length: failing }, () => one(true))];
}

describe('reconcile/probes-failing', () => {
  it('holds a group where more than the threshold of its probed instances fail; the others report ProbesPassing', () => {
    const state = fleet({ web: 4, api: 6 });
    const planned = [...instances('web', 1, 3), ...instances('api', 6, 0)];
    const verdicts = judgeProbes(state, planned);
    assert.deepEqual([...verdicts.held], ['web']);
    assert.equal(verdicts.conditions.get('web')?.reason, 'GroupProbesFailing');
    assert.match(verdicts.conditions.get('web')!.message, /^3 of 4 probed instances of the group fail their probes \(more than 55%\)/);
    assert.deepEqual([verdicts.conditions.get('api')?.status, verdicts.conditions.get('api')?.reason], ['False', 'ProbesPassing']);
    const withheld = withheldFailures(planned, verdicts);
    assert.deepEqual(
      withheld.filter((i) => i.group === 'web').map((i) => i.failing),
      [undefined, 'suspected', 'suspected', 'suspected'],
      'the held failures are not judged',
    );
    assert.equal(judgeProbes(state, planned, 80).held.size, 0, 'the operator threshold decides (3 of 4 = 75% is not above 80%)');
  });

  it('holds every probed group of a provider where most instances fail, though each group is too small to judge alone', () => {
    const state = fleet({ a: 2, b: 2, c: 2, batch: 2 }, ['batch']);
    const planned = [...instances('a', 0, 2), ...instances('b', 0, 2), ...instances('c', 1, 1), ...instances('batch', 2, 0)];
    const verdicts = judgeProbes(state, planned);
    assert.deepEqual([...verdicts.held].sort(), ['a', 'b', 'c'], '5 of 6 probed instances on aws-eu fail');
    assert.equal(verdicts.conditions.get('c')?.reason, 'ProviderProbesFailing');
    assert.equal(verdicts.conditions.has('batch'), false, 'a group without a probe carries no ProbesFailing');
  });

  it('does not hold one dead instance of a small group among a healthy provider, nor suspected (unconfirmed) failures', () => {
    const state = fleet({ tiny: 2, web: 6 });
    assert.equal(
      judgeProbes(state, [...instances('tiny', 0, 2), ...instances('web', 6, 0)]).held.size,
      0,
      'tiny (2) is below the smallest judged scope; the provider: 2 of 8',
    );
    assert.equal(
      judgeProbes(state, [...instances('tiny', 1, 1), ...instances('web', 0, 6, 'suspected')]).held.size,
      0,
      'suspected failures do not count',
    );
  });

  it('holds a scope under 3 when every probed instance of its provider fails (FullDisruption), and never says ProbesPassing while any fails', () => {
    const solo = fleet({ solo: 1 });
    const verdict = judgeProbes(solo, instances('solo', 0, 1));
    assert.deepEqual([...verdict.held], ['solo'], 'a 1-replica group alone on its provider: its one failure is not believed');
    assert.deepEqual([verdict.conditions.get('solo')?.status, verdict.conditions.get('solo')?.reason], ['True', 'AllProbesFailing']);
    const pair = fleet({ web: 2 });
    assert.deepEqual([...judgeProbes(pair, instances('web', 0, 2)).held], ['web'], '2 of 2 failing, nothing else probed on the provider');
    const peered = fleet({ tiny: 2, web: 6 });
    const believed = judgeProbes(peered, [...instances('tiny', 0, 2), ...instances('web', 6, 0)]).conditions.get('tiny');
    assert.deepEqual(
      [believed?.status, believed?.reason],
      ['False', 'FailuresBelieved'],
      'a passing peer on the provider makes the failures believable, but it is not "passing"',
    );
    assert.match(believed!.message, /^2 of 2 probed instances failing, believed/);
  });

  it('gives no verdict for a probed group whose instances were not probed (probing off)', () => {
    const state = fleet({ web: 3 });
    const planned = instances('web', 3, 0).map((i): PlannedInstance => ({ ...i, unprobed: true }));
    const verdicts = judgeProbes(state, planned);
    assert.equal(verdicts.conditions.has('web'), false, 'nothing was probed: no ProbesPassing claim');
    assert.equal(verdicts.held.size, 0);
  });
});
