import assert from 'node:assert/strict';
import { symlink } from 'node:fs/promises';
import path from 'node:path';
import { loadFleet, loadFleetFiles } from '../../src/desired/load.ts';
import type { LoadResult } from '../../src/desired/load-result.ts';
import { formatProblem } from '../../src/desired/problems.ts';
import { groupYaml, minimalFleet, writeFleet } from '../helpers/fleet-files.ts';

function load(files: Record<string, string>): LoadResult {
  return loadFleetFiles(Object.entries(files).map(([file, text]) => ({ file, text })));
}

function problems(files: Record<string, string>): string[] {
  const result = load(files);
  assert.ok(!result.ok, 'expected problems');
  return result.problems.map(formatProblem);
}

const PVE = 'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: pve }\nspec:\n  type: proxmox\n  nodes: [pve1, pve2]\n';

describe('fleet loader', () => {
  it('reads drift.modified: report, and it is no part of the template hash', () => {
    const replace = load(minimalFleet({ group: groupYaml('') }));
    const report = load(minimalFleet({ group: groupYaml('  drift: { modified: report }\n') }));
    assert.ok(replace.ok && report.ok);
    const [a, b] = [Object.values(replace.state.groups)[0]!, Object.values(report.state.groups)[0]!];
    assert.deepEqual(b.drift, { modified: 'report' });
    assert.equal(a.templateHash, b.templateHash, 'switching to report replaces nothing');
  });

  it('loads the demo fleet into a frozen state with defaults applied', async () => {
    const result = await loadFleet('fixtures/demo');
    assert.ok(result.ok);
    const { state } = result;
    assert.equal(state.fleet.id, 'acme-demo');
    assert.ok(Object.isFrozen(state) && Object.isFrozen(state.groups['web-eu']!.rollout));
    const worker = state.groups['worker-lab']!;
    assert.equal(worker.providerType, 'proxmox');
    assert.deepEqual(worker.zones, ['pve1', 'pve2']);
    assert.deepEqual(state.groups['web-lab']!.zones, ['pve1', 'pve2', 'pve3'], 'proxmox groups default to every node');
    assert.equal(state.groups['api-eu']!.rollout.autoRollback, true, 'default from the schema');
    assert.equal(state.groups['api-eu']!.health.gracePeriodSeconds, 300);
    assert.deepEqual(state.groups['api-eu']!.drift, { modified: 'replace' }, 'drift.modified defaults to replace');
    assert.deepEqual(state.groups['web-gcp']!.rollout.canary, { count: 1, promote: undefined, bakeSeconds: 600 });
    assert.deepEqual(state.groups['web-eu']!.health.probe, { kind: 'http', port: 8080, path: '/healthz', scheme: 'http' });
  });

  it('reports every problem at once, across files, sorted by position', () => {
    const files = {
      ...minimalFleet({ group: groupYaml('  rollout: { strategy: rollin, maxSurge: two }\n', -2) }),
      'other.yaml': groupYaml('  colour: blue\n', 1, 'api'),
    };
    assert.deepEqual(problems(files), [
      "group.yaml:7:13: 'spec.replicas' must be >= 0, got -2 (at /spec/replicas)",
      `group.yaml:10:24: 'spec.rollout.strategy' must be one of "rolling", "blue-green", "canary", got "rollin" (did you mean 'rolling'?) (at /spec/rollout/strategy)`,
      `group.yaml:10:42: invalid value "two" for 'spec.rollout.maxSurge': A count (integer ≥ 0) or a percentage of replicas written as a string such as "25%". (at /spec/rollout/maxSurge)`,
      "other.yaml:10:3: unknown field 'colour' in 'spec' (known fields: provider, image, replicas, suspend, machine, placement, userData, disks, tags, health, rollout, drift) (at /spec/colour)",
    ]);
  });

  it('suggests the closest kind and provider type', () => {
    const out = problems({
      ...minimalFleet({
        provider: 'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: awz, region: eu-west-1 }\n',
      }),
      'x.yaml': 'apiVersion: drover/v1\nkind: VMGroup\nmetadata: { name: x }\n',
    });
    assert.ok(
      out.includes(
        "provider.yaml:4:15: 'spec.type' must be one of aws, gcp, azure, proxmox, got \"awz\" (did you mean 'aws'?) (at /spec/type)",
      ),
      out.join('\n'),
    );
    assert.ok(
      out.includes(
        'x.yaml:2:7: unknown kind "VMGroup"; expected one of Fleet, Provider, Image, VmGroup (did you mean \'VmGroup\'?) (at /kind)',
      ),
      out.join('\n'),
    );
  });

  it('applies provider-specific rules', () => {
    const pveImage = `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: sha256:${'c'.repeat(64)}\n  artifacts: { pve: { id: ami-1 } }\n`;
    const pveGroup =
      'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: pve\n  image: web\n  replicas: 1\n  machine: { type: t3.small }\n  placement: { zones: [pve9], securityGroups: [sg-00000001] }\n';
    const out = problems({
      'fleet.yaml': minimalFleet()['fleet.yaml']!,
      'provider.yaml': PVE,
      'image.yaml': pveImage,
      'group.yaml': pveGroup,
    });
    assert.deepEqual(out, [
      "group.yaml:8:20: 'spec.machine.type' does not apply to proxmox providers (only aws, gcp, azure); remove it (at /spec/machine/type)",
      "group.yaml:9:24: node 'pve9' is not one of provider 'pve' nodes (pve1, pve2) (at /spec/placement/zones/0)",
      "group.yaml:9:47: 'spec.placement.securityGroups' does not apply to proxmox providers (only aws); remove it (at /spec/placement/securityGroups)",
      "image.yaml:6:21: provider 'pve' is proxmox: its artifact needs 'template' (the template VMID), not 'id' (at /spec/artifacts/pve)",
    ]);
  });

  it('checks zones against the AWS region and requires what AWS needs', () => {
    const group =
      'apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: aws-eu\n  image: web\n  replicas: 1\n  placement: { zones: [us-east-1a] }\n';
    assert.deepEqual(problems(minimalFleet({ group })), [
      "group.yaml:5:3: 'spec.machine.type' is required for aws providers (provider 'aws-eu') (at /spec)",
      "group.yaml:8:24: zone 'us-east-1a' is not in region eu-west-1 of provider 'aws-eu' (expected e.g. eu-west-1a) (at /spec/placement/zones/0)",
    ]);
  });

  it('checks rollout rules that span fields', () => {
    const out = problems(minimalFleet({ group: groupYaml('  rollout: { strategy: canary, keepOldSeconds: 60 }\n') }));
    assert.deepEqual(out, [
      "group.yaml:10:12: strategy 'canary' needs 'spec.rollout.canary' with at least 'count' (at /spec/rollout)",
      "group.yaml:10:48: 'spec.rollout.keepOldSeconds' only applies to strategy 'blue-green' (this group uses 'canary') (at /spec/rollout/keepOldSeconds)",
    ]);
  });

  it('refuses images whose artifacts name unknown providers, and groups whose image lacks one', () => {
    const image = `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: sha256:${'d'.repeat(64)}\n  artifacts: { aws-us: { id: ami-1 } }\n`;
    assert.deepEqual(problems(minimalFleet({ image })), [
      "group.yaml:6:10: image 'web' has no artifact for provider 'aws-eu'; add spec.artifacts.aws-eu to the image (at /spec/image)",
      "image.yaml:6:24: artifact for unknown provider 'aws-us' (did you mean 'aws-eu'?); artifacts are keyed by Provider name (at /spec/artifacts/aws-us)",
    ]);
  });

  it('refuses a second Fleet document and secrets inside other kinds', () => {
    const out = problems({
      ...minimalFleet(),
      'more.yaml': 'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: other }\n',
      'key.yaml': groupYaml('  userData: "-----BEGIN OPENSSH PRIVATE KEY-----"\n', 1, 'api'),
    });
    assert.ok(
      out.some((l) => l.startsWith('more.yaml:2:7: a repository has exactly one Fleet document')),
      out.join('\n'),
    );
    assert.ok(
      out.some((l) => l.startsWith("key.yaml:10:13: 'spec.userData' contains a private key")),
      out.join('\n'),
    );
  });

  it('reads symlinks inside the repository, skips hidden folders, reports an empty repository', async () => {
    const { dir, cleanup } = await writeFleet({
      ...minimalFleet(),
      'real/extra.yaml': groupYaml('', 1, 'api'),
      '.git/ignored.yaml': 'not: [valid',
    });
    try {
      await symlink(path.join(dir, 'real/extra.yaml'), path.join(dir, 'link.yaml'));
      const result = await loadFleet(dir);
      assert.ok(!result.ok);
      assert.deepEqual(
        result.problems.map((p) => p.code),
        ['ref.duplicateName'],
        'the inside link is read (so api is defined twice); .git is skipped',
      );
    } finally {
      await cleanup();
    }
    const empty = await writeFleet({ 'README.md': '# nothing' });
    try {
      const result = await loadFleet(empty.dir);
      assert.ok(!result.ok);
      assert.equal(result.problems[0]!.code, 'fs.noFiles');
    } finally {
      await empty.cleanup();
    }
  });

  it('turns deep nesting into a positioned problem', () => {
    const deep = `${'['.repeat(20000)}${']'.repeat(20000)}\n`;
    const result = load({ ...minimalFleet(), 'deep.yaml': deep });
    assert.ok(!result.ok);
    const problem = result.problems.find((p) => p.file === 'deep.yaml');
    assert.ok(problem && problem.line === 1, JSON.stringify(result.problems));
  });

  it('ignores empty documents (a trailing ---, a document of comments); an explicit null is still refused', () => {
    const fleet = minimalFleet();
    assert.ok(load({ ...fleet, 'fleet.yaml': `${fleet['fleet.yaml']}---\n` }).ok, 'a trailing ---');
    assert.ok(load({ ...fleet, 'fleet.yaml': `${fleet['fleet.yaml']}---\n# nothing here yet\n---\n` }).ok, 'comments only');
    assert.deepEqual(problems({ ...fleet, 'fleet.yaml': `${fleet['fleet.yaml']}---\nnull\n` }), [
      'fleet.yaml:5:1: a fleet document must be a mapping with apiVersion, kind, metadata and spec',
    ]);
  });

  it('a file that fails to parse is the only problem: no cascade of undefined providers or images from the documents it lost', () => {
    const fleet = minimalFleet();
    const broken = problems({
      ...fleet,
      'provider.yaml': fleet['provider.yaml']!.replace('metadata: { name: aws-eu }', 'metadata: { name: aws-eu }\nkind: Provider'),
    });
    assert.equal(broken.length, 1, broken.join('\n'));
    assert.match(broken[0]!, /^provider\.yaml:\d+:\d+: .*(duplicate|unique)/i);
    const version = problems({ ...fleet, 'image.yaml': `%YAML 1.1\n---\n${fleet['image.yaml']}` });
    assert.equal(version.length, 1, version.join('\n'));
    assert.match(version[0]!, /^image\.yaml:1:1: YAML: fleet files are YAML 1\.2/);
    const alsoTypo = problems({
      ...fleet,
      'image.yaml': `%YAML 1.1\n---\n${fleet['image.yaml']}`,
      'group.yaml': groupYaml().replace('provider: aws-eu', 'provider: aws-us'),
    });
    assert.equal(alsoTypo.length, 1, 'a dangling reference waits until every file parses (it may be defined in the broken one)');
  });
});
