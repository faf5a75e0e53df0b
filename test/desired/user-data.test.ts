/**
 * userData in the fleet: `${drover.NAME}` per-instance variables (validated at their line, filled
 * from the instance's own record only, escaped with `$${…}`, outside the template hash's values),
 * and credentials refused in it, plain or base64 (and gzip+base64) encoded.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { loadFleetFiles } from '../../src/desired/load.ts';
import type { LoadResult } from '../../src/desired/load-result.ts';
import { formatProblem } from '../../src/desired/problems.ts';
import { fillUserData, launchUserData, userDataValues } from '../../src/contract/user-data.ts';
import { ProviderError } from '../../src/contract/errors.ts';
import { createRequest, launchTemplate } from '../providers/shared-fixtures.ts';
import { groupYaml, minimalFleet } from '../helpers/fleet-files.ts';

function load(userData: string): LoadResult {
  const files = minimalFleet({ group: groupYaml(userData) });
  return loadFleetFiles(Object.entries(files).map(([file, text]) => ({ file, text })));
}

/** `userData: |` (line 10 of group.yaml) with these lines: the block's first line is line 11. */
function block(lines: string[]): string {
  return `  userData: |\n${lines.map((l) => `    ${l}`).join('\n')}\n`;
}

function problems(userData: string): string[] {
  const result = load(userData);
  assert.ok(!result.ok, 'expected problems');
  return result.problems.map(formatProblem);
}

function hashOf(userData: string): string {
  const result = load(userData);
  assert.ok(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('\n'));
  return result.state.groups['web']!.templateHash;
}

const VALUES = userDataValues(
  { fleet: 'acme', group: 'web', slot: 4, revision: 'abc123', imageDigest: `sha256:${'a'.repeat(64)}`, templateHash: '0123456789ab' },
  'eu-west-1a',
  'web-01234567-4',
);

describe('userData variables', () => {
  it('accepts every documented variable and keeps the text (not the values) in the template', () => {
    const text = [
      '#cloud-config',
      'runcmd:',
      '  - echo ${drover.fleet} ${drover.group} ${drover.slot} ${drover.zone}',
      '  - echo ${drover.revision} ${drover.imageDigest} ${drover.templateHash} ${drover.name}',
    ];
    const result = load(block(text));
    assert.ok(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('\n'));
    assert.equal(result.state.groups['web']!.template.userData, `${text.join('\n')}\n`);
  });

  it('refuses an unknown variable at its own line of the file, with a suggestion, and never reads the environment', () => {
    const found = problems(block(['#cloud-config', 'runcmd:', '  - echo ${drover.zonee}', '  - echo ${drover.env.HOME}']));
    assert.equal(found.length, 2, found.join('\n'));
    assert.match(found[0]!, /^group\.yaml:13:1: 'spec\.userData' line 3: unknown variable \$\{drover\.zonee\} \(did you mean 'zone'\?\)/);
    assert.match(found[0]!, /drover fills only \$\{drover\.fleet\}, \$\{drover\.group\}/);
    assert.match(
      found[1]!,
      /^group\.yaml:14:1: 'spec\.userData' line 4: unknown variable \$\{drover\.env\.HOME\}; drover never fills userData from its own environment/,
    );
    assert.ok(!found.join('\n').includes(process.env['HOME'] ?? '\0'), 'no value of the environment in a message');
  });

  it('refuses a malformed reference (spaces, no closing brace) in a quoted scalar at the field, naming the userData line', () => {
    const found = problems('  userData: "#cloud-config\\nhostname: ${ drover.name }\\nx: ${drover.group"\n');
    assert.equal(found.length, 2, found.join('\n'));
    assert.match(
      found[0]!,
      /^group\.yaml:10:13: 'spec\.userData' line 2: \$\{ drover\.name \} is not a drover variable reference \(write \$\{drover\.NAME\}, no spaces\)/,
    );
    assert.match(found[1]!, /^group\.yaml:10:13: 'spec\.userData' line 3: /);
  });

  it('leaves shell, cloud-init jinja and other ${…} alone, and $${drover.…} is the escape', () => {
    const text = 'echo ${HOME} ${env.HOME} ${PATH:-/bin} $(id) {{ v1.instance_id }} $${drover.group} ${droverish} ${drover.group}';
    assert.ok(load(`  userData: '${text}'\n`).ok);
    const filled = fillUserData(text, VALUES);
    assert.equal(filled, 'echo ${HOME} ${env.HOME} ${PATH:-/bin} $(id) {{ v1.instance_id }} ${drover.group} ${droverish} web');
  });

  it('fills each variable from the instance record only', () => {
    const filled = fillUserData(
      '${drover.fleet}|${drover.group}|${drover.slot}|${drover.zone}|${drover.revision}|${drover.imageDigest}|${drover.templateHash}|${drover.name}',
      VALUES,
    );
    assert.equal(filled, `acme|web|4|eu-west-1a|abc123|sha256:${'a'.repeat(64)}|0123456789ab|web-01234567-4`);
  });

  it('a launch with a reference validation would refuse is refused Invalid, nothing half-filled', () => {
    const template = launchTemplate({
      provider: 'p',
      artifact: { id: 'ami-1' },
      machine: {},
      placement: {},
      diskType: 'gp3',
      userData: 'x ${drover.secret} ${drover.group}',
    });
    const request = createRequest(template, 'web', 0, 'z1');
    assert.throws(
      () => launchUserData(request, 'p'),
      (e: unknown) => e instanceof ProviderError && e.kind === 'Invalid' && e.reason === 'UnknownUserDataVariable',
    );
  });

  it('the template hash is over the text: the same text for every slot and revision, another text rolls', () => {
    const a = hashOf(block(['#cloud-config', 'hostname: ${drover.name}']));
    assert.equal(hashOf(block(['#cloud-config', 'hostname: ${drover.name}'])), a);
    assert.notEqual(hashOf(block(['#cloud-config', 'hostname: ${drover.group}'])), a);
  });
});

/** The one problem of a group with this userData. */
function refusal(userData: string): string {
  const found = problems(userData);
  assert.equal(found.length, 1, found.join('\n'));
  return found[0]!;
}

/** A Proxmox fleet whose group has these `userData` lines. */
function pve(userData: string): LoadResult {
  const files = {
    'fleet.yaml': 'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: f }\n',
    'provider.yaml': 'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: pve }\nspec: { type: proxmox, nodes: [pve1] }\n',
    'image.yaml': `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: sha256:${'a'.repeat(64)}\n  artifacts: { pve: { template: 9000 } }\n`,
    'group.yaml': `apiVersion: drover/v1\nkind: VmGroup\nmetadata: { name: web }\nspec:\n  provider: pve\n  image: web\n  replicas: 1\n${userData}`,
  };
  return loadFleetFiles(Object.entries(files).map(([file, text]) => ({ file, text })));
}

describe('userData on Proxmox', () => {
  it('takes a snippet reference, and refuses inline cloud-config at validate time (the launch could never send it)', () => {
    assert.ok(pve('  userData: "snippet: local:snippets/web.yaml"\n').ok);
    const inline = pve('  userData: |\n    #cloud-config\n    hostname: ${drover.name}\n');
    assert.ok(!inline.ok);
    assert.deepEqual(
      inline.problems.map((p) => [p.file, p.line, p.code]),
      [['group.yaml', 8, 'rule.userDataNotSnippet']],
    );
    assert.match(formatProblem(inline.problems[0]!), /Proxmox takes user data only as a snippet: .*variables are not filled in it/);
  });
});

describe('extra disks on Proxmox (attack24 F3)', () => {
  it('refuses a disk without type (its storage) at validate time, at the disk, instead of failing every launch', () => {
    assert.ok(pve('  disks: [{ sizeGiB: 10, type: local-lvm }]\n').ok);
    const untyped = pve('  disks:\n    - { sizeGiB: 10, type: local-lvm }\n    - { sizeGiB: 20 }\n');
    assert.ok(!untyped.ok);
    assert.deepEqual(
      untyped.problems.map((p) => [p.file, p.code]),
      [['group.yaml', 'rule.diskStorageMissing']],
    );
    assert.match(formatProblem(untyped.problems[0]!), /^group\.yaml:10:.*need type.*\/spec\/disks\/1\/type/);
  });
});

describe('userData credentials', () => {
  const AWS_KEY = 'AKIAABCDEFGHIJKLMNOP';
  const PEM = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----\n';

  it('refuses a pasted access key id or private key, naming the field and never the value', () => {
    const key = refusal(block(['#cloud-config', 'write_files:', '  - path: /etc/aws', `    content: "${AWS_KEY}"`]));
    assert.match(
      key,
      /^group\.yaml:10:13: 'spec\.userData' contains an AWS access key id: drover never takes credentials from Git\. .*give the instance an identity/,
    );
    assert.ok(!key.includes(AWS_KEY));
    const pem = refusal(
      block([
        '#cloud-config',
        'write_files:',
        '  - content: |',
        ...PEM.trimEnd()
          .split('\n')
          .map((l) => `      ${l}`),
      ]),
    );
    assert.match(pem, /'spec\.userData' contains a private key/);
  });

  it('refuses a credential base64-encoded in userData (cloud-init encoding: b64, wrapped over lines)', () => {
    const b64 = Buffer.from(PEM).toString('base64');
    const wrapped = b64.match(/.{1,40}/g)!;
    const found = refusal(
      block(['#cloud-config', 'write_files:', '  - encoding: b64', '    content: |', ...wrapped.map((l) => `      ${l}`)]),
    );
    assert.match(found, /'spec\.userData' contains a private key \(base64-encoded\)/);
    assert.ok(!found.includes(b64.slice(0, 20)));
    const inline = refusal(
      block(['#cloud-config', 'write_files:', `  - { encoding: b64, content: ${Buffer.from(`key=${AWS_KEY}\n`).toString('base64')} }`]),
    );
    assert.match(inline, /contains an AWS access key id \(base64-encoded\)/);
  });

  it('refuses a credential gzip+base64-encoded in userData (encoding: gz+b64)', () => {
    const gz = gzipSync(Buffer.from(`export AWS_ACCESS_KEY_ID=${AWS_KEY}\n`)).toString('base64');
    const found = refusal(block(['#cloud-config', 'write_files:', `  - { encoding: gz+b64, content: "${gz}" }`]));
    assert.match(found, /contains an AWS access key id \(base64-encoded\)/);
  });

  it('refuses a credential in URL-safe base64, and in base64 of base64 (attack24 F4)', () => {
    const token = `ghp_${'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'}`;
    // '-' and '_' in the encoding: a '?' (0x3f) and '>' (0x3e) bytes make the 62nd and 63rd letters.
    const urlSafe = Buffer.from(`?>?> token: ${token} ??>>`).toString('base64url');
    assert.match(urlSafe, /[-_]/, 'the encoding uses the URL-safe letters');
    assert.match(refusal(block(['#cloud-config', `token_b64: ${urlSafe}`])), /\(base64-encoded\)/);
    const twice = Buffer.from(Buffer.from(`key: ${AWS_KEY}\n`).toString('base64')).toString('base64');
    assert.match(refusal(block(['#cloud-config', `k: ${twice}`])), /contains an AWS access key id \(base64-encoded\)/);
  });

  it('decodes at most 1 MiB per userData (gzip bombs included), and a plain key after a bomb is still found', () => {
    const bomb = gzipSync(Buffer.alloc(4 << 20)).toString('base64');
    const result = load(
      block([
        '#cloud-config',
        'write_files:',
        `  - { encoding: gz+b64, content: "${bomb}" }`,
        `  - { encoding: gz+b64, content: "${bomb}" }`,
      ]),
    );
    assert.ok(result.ok, 'a bomb is no credential');
    const found = refusal(
      block(['#cloud-config', 'write_files:', `  - { encoding: gz+b64, content: "${bomb}" }`, `  - content: ${AWS_KEY}`]),
    );
    assert.match(found, /contains an AWS access key id:/);
  });

  it('accepts base64 of harmless content and public keys', () => {
    const b64 = Buffer.from('#!/bin/sh\necho hello from a harmless script that is long enough\n').toString('base64');
    assert.ok(load(block(['#cloud-config', 'write_files:', `  - { encoding: b64, content: ${b64} }`])).ok);
    const pub = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBk2J3x8l2lY7lJ7o2v4m2h4A8y9yQe8Qk7x1h1g2f3e ops';
    assert.ok(load(block(['#cloud-config', 'ssh_authorized_keys:', `  - ${pub}`])).ok);
  });
});
