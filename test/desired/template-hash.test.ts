import assert from 'node:assert/strict';
import { loadFleetFiles } from '../../src/desired/load.ts';
import { canonicalJson, templateHash } from '../../src/desired/template-hash.ts';
import type { DesiredGroup, LaunchTemplate } from '../../src/contract/fleet.ts';
import { DIGEST_A, DIGEST_B, groupYaml, minimalFleet } from '../helpers/fleet-files.ts';

function loadGroup(files: Record<string, string>): DesiredGroup {
  const result = loadFleetFiles(Object.entries(files).map(([file, text]) => ({ file, text })));
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.problems));
  return result.state.groups['web']!;
}

function withGroups(list: string): string {
  return groupYaml().replace('zones: [eu-west-1a, eu-west-1b] }', `zones: [eu-west-1a], securityGroups: [${list}] }`);
}

function image(digest: string, ami: string): string {
  return `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${digest}\n  artifacts: { aws-eu: { id: ${ami} } }\n`;
}

const SUBNETS = '{ eu-west-1a: subnet-0123456789abcdef0, eu-west-1b: subnet-0123456789abcdef1 }';

const BASE_EXTRA = ['  userData: "#cloud-config"', '  tags: { team: web, tier: front }', '  disks: [{ sizeGiB: 20, type: gp3 }]', ''].join(
  '\n',
);

function withSubnets(subnets: string, zones = ''): DesiredGroup {
  return loadGroup(
    minimalFleet({ group: groupYaml(BASE_EXTRA).replace('zones: [eu-west-1a, eu-west-1b] }', `${zones}subnets: ${subnets} }`) }),
  );
}

describe('template hash', () => {
  const base = loadGroup(minimalFleet({ group: groupYaml(BASE_EXTRA) }));

  it('is 12 lowercase hex characters', () => {
    assert.match(base.templateHash, /^[0-9a-f]{12}$/);
  });

  it('does not change with key order, YAML formatting or comments', () => {
    const reformatted = [
      '# a comment at the top',
      'kind: VmGroup',
      'apiVersion: "drover/v1"',
      'spec:',
      '  tags:',
      '    tier: front   # trailing comment',
      '    team: web',
      '  disks:',
      '    - type: gp3',
      '      sizeGiB: 20',
      "  userData: '#cloud-config'",
      '  placement:',
      '    zones:',
      '      - eu-west-1a',
      '      - eu-west-1b',
      '  machine:',
      '    type: t3.small',
      '  replicas: 3',
      '  image: web',
      '  provider: aws-eu',
      'metadata:',
      '  name: web',
      '',
    ].join('\n');
    assert.equal(loadGroup(minimalFleet({ group: reformatted })).templateHash, base.templateHash);
  });

  it('does not change when defaults are written out or set-like lists are reordered', () => {
    const implicit = loadGroup(minimalFleet({ group: groupYaml() }));
    const explicit = loadGroup(minimalFleet({ group: groupYaml('  disks: []\n  tags: {}\n') }));
    assert.equal(explicit.templateHash, implicit.templateHash);
    const sgA = loadGroup(minimalFleet({ group: withGroups('sg-00000001, sg-00000002') }));
    const sgB = loadGroup(minimalFleet({ group: withGroups('sg-00000002, sg-00000001') }));
    assert.equal(sgA.templateHash, sgB.templateHash);
  });

  it('does not change with replicas, rollout, health, suspend or zones', () => {
    const variants = [
      groupYaml(BASE_EXTRA, 9),
      groupYaml(`${BASE_EXTRA}  rollout: { maxSurge: 3, minReadySeconds: 99 }\n`),
      groupYaml(`${BASE_EXTRA}  health: { tcp: { port: 22 } }\n`),
      groupYaml(`${BASE_EXTRA}  suspend: true\n`),
      groupYaml(BASE_EXTRA).replace('[eu-west-1a, eu-west-1b]', '[eu-west-1a, eu-west-1b, eu-west-1c]'),
    ];
    for (const group of variants) assert.equal(loadGroup(minimalFleet({ group })).templateHash, base.templateHash, group);
  });

  it('changes with every launch-relevant field', () => {
    const changes: Record<string, Record<string, string>> = {
      imageDigest: minimalFleet({ group: groupYaml(BASE_EXTRA), image: image(DIGEST_B, 'ami-0a1b2c3d4e5f60718') }),
      artifact: minimalFleet({ group: groupYaml(BASE_EXTRA), image: image(DIGEST_A, 'ami-0ffffffffffffffff') }),
      machine: minimalFleet({ group: groupYaml(BASE_EXTRA).replace('t3.small', 't3.large') }),
      subnets: minimalFleet({
        group: groupYaml(`${BASE_EXTRA}`).replace(
          'zones: [eu-west-1a, eu-west-1b] }',
          `zones: [eu-west-1a, eu-west-1b], subnets: ${SUBNETS} }`,
        ),
      }),
      userData: minimalFleet({ group: groupYaml(BASE_EXTRA.replace('#cloud-config', '#cloud-config\\nx')) }),
      disks: minimalFleet({ group: groupYaml(BASE_EXTRA.replace('sizeGiB: 20', 'sizeGiB: 21')) }),
      tags: minimalFleet({ group: groupYaml(BASE_EXTRA.replace('tier: front', 'tier: back')) }),
      instanceProfile: minimalFleet({
        group: groupYaml(BASE_EXTRA).replace(
          'zones: [eu-west-1a, eu-west-1b] }',
          'zones: [eu-west-1a, eu-west-1b], instanceProfile: web }',
        ),
      }),
    };
    const seen = new Set([base.templateHash]);
    for (const [field, files] of Object.entries(changes)) {
      const hash = loadGroup(files).templateHash;
      assert.ok(!seen.has(hash), `changing ${field} must change the hash`);
      seen.add(hash);
    }
  });

  it("AWS subnets per zone: zones default to their keys; the map is in the hash (a zone's new subnet or a new zone rolls), its key order is not", () => {
    const derived = withSubnets(SUBNETS);
    assert.deepEqual(derived.zones, ['eu-west-1a', 'eu-west-1b'], "zones are the subnets' zones");
    assert.deepEqual(derived.template.placement.subnets, {
      'eu-west-1a': 'subnet-0123456789abcdef0',
      'eu-west-1b': 'subnet-0123456789abcdef1',
    });
    assert.equal(
      withSubnets(SUBNETS, 'zones: [eu-west-1b, eu-west-1a], ').templateHash,
      derived.templateHash,
      'zones written out: same hash',
    );
    const reordered = withSubnets('{ eu-west-1b: subnet-0123456789abcdef1, eu-west-1a: subnet-0123456789abcdef0 }');
    assert.equal(reordered.templateHash, derived.templateHash, 'key order');
    assert.deepEqual(reordered.zones, derived.zones, 'key order does not change the zones either (sorted)');
    assert.notEqual(
      withSubnets('{ eu-west-1a: subnet-0123456789abcdef0, eu-west-1b: subnet-0123456789abcdef9 }').templateHash,
      derived.templateHash,
      "a zone's subnet changed",
    );
    assert.notEqual(
      withSubnets(SUBNETS.replace(' }', ', eu-west-1c: subnet-0123456789abcdef2 }')).templateHash,
      derived.templateHash,
      'a zone added with its subnet',
    );
  });

  it('hashes every LaunchTemplate field (a new field cannot be silently left out)', () => {
    const template: LaunchTemplate = {
      provider: 'p',
      imageDigest: DIGEST_A,
      artifact: { id: 'x' },
      machine: { type: 'm' },
      placement: { subnet: 's' },
      userData: 'u',
      disks: [{ sizeGiB: 1 }],
      tags: { a: 'b' },
    };
    for (const key of Object.keys(template) as (keyof LaunchTemplate)[]) {
      const changed = {
        ...template,
        [key]: key === 'userData' ? 'v' : key === 'disks' ? [] : typeof template[key] === 'string' ? 'q' : {},
      };
      assert.notEqual(templateHash(changed), templateHash(template), key);
    }
  });

  it('is pinned for a known template: a change to the canonical form would replace every instance of every fleet', () => {
    // If this fails, the canonical form or the hash changed: every running instance would be
    // replaced on upgrade. Bump HASH_DOMAIN only with a migration plan, never to make this pass.
    assert.equal(
      canonicalJson(base.template),
      '{"artifact":{"id":"ami-0a1b2c3d4e5f60718"},"disks":[{"sizeGiB":20,"type":"gp3"}],"imageDigest":"sha256:' +
        'a'.repeat(64) +
        '","machine":{"type":"t3.small"},"placement":{},"provider":"aws-eu","tags":{"team":"web","tier":"front"},"userData":"#cloud-config"}',
    );
    assert.equal(base.templateHash, '830c6aedb9f9');
    assert.equal(templateHash(base.template), '830c6aedb9f9');
  });

  it('does not change with the order of SSH keys (a set), and changes when a key changes', () => {
    const provider = 'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: gce-eu }\nspec: { type: gcp, project: demo-project }\n';
    const img = `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${DIGEST_A}\n  artifacts: { gce-eu: { id: projects/demo-project/global/images/web-1 } }\n`;
    const [a, b, c] = [
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1 ops@a',
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB2 ops@b',
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC3 ops@c',
    ].map((k) => JSON.stringify(k));
    const hashOf = (keys: string) => loadGroup(minimalFleet({ provider, image: img, group: gceGroupWithKeys(keys) })).templateHash;
    assert.equal(hashOf(`${a}, ${b}, ${c}`), hashOf(`${c}, ${a}, ${b}`));
    assert.notEqual(hashOf(`${a}, ${b}`), hashOf(`${a}, ${c}`));
  });

  it('canonical JSON sorts keys at every depth and drops undefined', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: null }], c: 'c' } }),
      '{"a":{"c":"c","d":[2,{"x":null,"z":1}]},"b":1}',
    );
  });
});

/** A GCE group whose placement lists these SSH keys (a YAML flow sequence's items). */
function gceGroupWithKeys(keys: string): string {
  return `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: gce-eu\n  image: web\n  replicas: 2\n  machine: { type: e2-small }\n  placement: { zones: [europe-west1-b], sshKeys: [${keys}] }\n`;
}
