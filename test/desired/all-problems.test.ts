/**
 * Validation reports every problem of a document at once (attack on issue 18, usability 5): a
 * group with a schema error (failureThreshold: 0) and a rollout that could never progress
 * (maxSurge 0, maxUnavailable 0) got only the schema error; the rollout one appeared after the fix.
 */
import assert from 'node:assert/strict';
import { loadFleetFiles } from '../../src/desired/load.ts';

const DIGEST = `sha256:${'d'.repeat(64)}`;

function groupYaml(extra: string): string {
  return [
    'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: f }\n',
    'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n',
    `apiVersion: drover/v1\nkind: Image\nmetadata: { name: app }\nspec:\n  digest: ${DIGEST}\n  artifacts: { aws-eu: { id: ami-0123456789abcdef0 } }\n`,
    `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: aws-eu\n  image: app\n  replicas: 3\n  machine: { type: t3.small }\n  placement: { zones: [eu-west-1a] }\n${extra}`,
  ].join('---\n');
}

describe('desired: every problem at once', () => {
  it('a schema error elsewhere in the group does not hide its rollout rule problem', () => {
    const loaded = loadFleetFiles([
      {
        file: 'fleet.yaml',
        text: groupYaml('  rollout: { maxSurge: 0, maxUnavailable: 0 }\n  health: { tcp: { port: 22 }, failureThreshold: 0 }\n'),
      },
    ]);
    assert.ok(!loaded.ok);
    const found = loaded.problems.map((p) => [p.path, p.code]);
    assert.ok(
      found.some(([path]) => path === '/spec/health/failureThreshold'),
      JSON.stringify(found),
    );
    assert.ok(
      found.some(([path, code]) => path === '/spec/rollout/maxSurge' && code === 'rule.noProgress'),
      JSON.stringify(found),
    );
  });

  it('a schema error inside the rollout is reported alone (no rule is judged on invalid rollout values)', () => {
    const loaded = loadFleetFiles([{ file: 'fleet.yaml', text: groupYaml('  rollout: { maxSurge: "abc", maxUnavailable: 0 }\n') }]);
    assert.ok(!loaded.ok);
    assert.ok(!loaded.problems.some((p) => p.code === 'rule.noProgress'), JSON.stringify(loaded.problems));
  });
});
