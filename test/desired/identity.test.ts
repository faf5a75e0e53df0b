/**
 * Identity at launch in the fleet schema: a GCE service account (email) and its scopes, Azure
 * user-assigned managed identities; their validation (file, line, field) and their part in the
 * template hash.
 */
import assert from 'node:assert/strict';
import { loadFleetFiles } from '../../src/desired/load.ts';
import type { LoadResult } from '../../src/desired/load-result.ts';
import { formatProblem } from '../../src/desired/problems.ts';
import type { DesiredGroup } from '../../src/contract/fleet.ts';
import { DIGEST_A } from '../helpers/fleet-files.ts';

const FLEET = 'apiVersion: drover/v1\nkind: Fleet\nmetadata: { name: test-fleet }\n';
const GCP = 'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: gcp }\nspec: { type: gcp, project: acme-prod-4821 }\n';
const AZURE =
  'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: az }\nspec: { type: azure, subscriptionId: 3f2b8c1e-5d4a-4e7b-9c0d-1a2b3c4d5e6f, resourceGroup: rg, location: westeurope }\n';
const AWS = 'apiVersion: drover/v1\nkind: Provider\nmetadata: { name: aws-eu }\nspec: { type: aws, region: eu-west-1 }\n';
const IMAGE = `apiVersion: drover/v1\nkind: Image\nmetadata: { name: web }\nspec:\n  digest: ${DIGEST_A}\n  artifacts:\n    gcp: { id: projects/acme/global/images/web }\n    az: { id: /subscriptions/3f2b8c1e-5d4a-4e7b-9c0d-1a2b3c4d5e6f/resourceGroups/rg/providers/Microsoft.Compute/images/web }\n    aws-eu: { id: ami-0a1b2c3d4e5f60718 }\n`;

const SA = 'web@acme-prod-4821.iam.gserviceaccount.com';
const MI =
  '/subscriptions/3f2b8c1e-5d4a-4e7b-9c0d-1a2b3c4d5e6f/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web-reader';
const MI2 =
  '/subscriptions/3f2b8c1e-5d4a-4e7b-9c0d-1a2b3c4d5e6f/resourceGroups/rg-id/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web-logs';

/** A gcp group; `placement` lines go under `placement:` (indent by four). */
function gcpGroup(placement: string[]): string {
  return [
    'apiVersion: drover/v1',
    'kind: VmGroup',
    'metadata: { name: web }',
    'spec:',
    '  provider: gcp',
    '  image: web',
    '  replicas: 2',
    '  machine: { type: e2-small }',
    '  placement:',
    '    zones: [europe-west1-b]',
    ...placement,
    '',
  ].join('\n');
}

function azureGroup(placement: string[]): string {
  return [
    'apiVersion: drover/v1',
    'kind: VmGroup',
    'metadata: { name: web }',
    'spec:',
    '  provider: az',
    '  image: web',
    '  replicas: 2',
    '  machine: { type: Standard_B2s }',
    '  placement:',
    '    subnet: /subscriptions/3f2b8c1e-5d4a-4e7b-9c0d-1a2b3c4d5e6f/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s',
    ...placement,
    '',
  ].join('\n');
}

function load(group: string): LoadResult {
  const files = { 'fleet.yaml': FLEET, 'providers.yaml': `${GCP}---\n${AZURE}---\n${AWS}`, 'image.yaml': IMAGE, 'group.yaml': group };
  return loadFleetFiles(Object.entries(files).map(([file, text]) => ({ file, text })));
}

function loaded(group: string): DesiredGroup {
  const result = load(group);
  assert.ok(result.ok, result.ok ? '' : result.problems.map(formatProblem).join('\n'));
  return result.state.groups['web']!;
}

function problems(group: string): string[] {
  const result = load(group);
  assert.ok(!result.ok, 'expected problems');
  return result.problems.map(formatProblem);
}

describe('identity at launch: fleet schema and validation', () => {
  it('GCE: a service account with scopes (aliases expanded to URLs, sorted) in the template', () => {
    const group = loaded(
      gcpGroup([`    serviceAccount: ${SA}`, '    scopes: [storage-ro, https://www.googleapis.com/auth/logging.write]']),
    );
    assert.equal(group.template.placement.serviceAccount, SA);
    assert.deepEqual(group.template.placement.scopes, [
      'https://www.googleapis.com/auth/devstorage.read_only',
      'https://www.googleapis.com/auth/logging.write',
    ]);
  });

  it('GCE: a service account without scopes gets cloud-platform, and writing that default out changes no hash', () => {
    const implicit = loaded(gcpGroup([`    serviceAccount: ${SA}`]));
    assert.deepEqual(implicit.template.placement.scopes, ['https://www.googleapis.com/auth/cloud-platform']);
    const alias = loaded(gcpGroup([`    serviceAccount: ${SA}`, '    scopes: [cloud-platform]']));
    const url = loaded(gcpGroup([`    serviceAccount: ${SA}`, '    scopes: [https://www.googleapis.com/auth/cloud-platform]']));
    assert.equal(alias.templateHash, implicit.templateHash);
    assert.equal(url.templateHash, implicit.templateHash);
    const reordered = [
      loaded(gcpGroup([`    serviceAccount: ${SA}`, '    scopes: [storage-ro, logging-write]'])),
      loaded(gcpGroup([`    serviceAccount: ${SA}`, '    scopes: [logging-write, storage-ro]'])),
    ];
    assert.equal(reordered[0]!.templateHash, reordered[1]!.templateHash);
  });

  it('GCE: adding, changing or re-scoping the service account rolls the group (new template hash)', () => {
    const none = loaded(gcpGroup([]));
    const web = loaded(gcpGroup([`    serviceAccount: ${SA}`]));
    const other = loaded(gcpGroup(['    serviceAccount: api@acme-prod-4821.iam.gserviceaccount.com']));
    const scoped = loaded(gcpGroup([`    serviceAccount: ${SA}`, '    scopes: [storage-ro]']));
    const hashes = new Set([none, web, other, scoped].map((g) => g.templateHash));
    assert.equal(hashes.size, 4);
  });

  it('GCE: refuses a person’s email, an unknown scope alias and scopes without an account, each at its line', () => {
    const found = problems(gcpGroup(['    serviceAccount: alice@example.com', '    scopes: [storage-readonly]']));
    assert.equal(found.length, 2, found.join('\n'));
    assert.match(
      found[0]!,
      /^group\.yaml:11:\d+: invalid value "alice@example\.com" for 'spec\.placement\.serviceAccount': gcp: the service account/,
    );
    assert.match(found[1]!, /^group\.yaml:12:\d+: invalid value "storage-readonly" for 'spec\.placement\.scopes\[0\]': .*storage-ro/);
    const orphan = problems(gcpGroup(['    scopes: [storage-ro]']));
    assert.equal(orphan.length, 1);
    assert.match(
      orphan[0]!,
      /^group\.yaml:11:\d+: 'spec\.placement\.scopes' are the OAuth scopes of the instance's service account: set 'spec\.placement\.serviceAccount'/,
    );
  });

  it('GCE fields are refused on other clouds, naming the cloud they apply to', () => {
    const found = problems(azureGroup([`    serviceAccount: ${SA}`]));
    assert.match(found.join('\n'), /group\.yaml:11:\d+: 'spec\.placement\.serviceAccount' does not apply to azure providers \(only gcp\)/);
  });

  it('Azure: managed identities in the template, as a set (order does not change the hash; the set does)', () => {
    const one = loaded(azureGroup([`    managedIdentities: [${MI}]`]));
    assert.deepEqual(one.template.placement.managedIdentities, [MI]);
    const ab = loaded(azureGroup([`    managedIdentities: [${MI}, ${MI2}]`]));
    const ba = loaded(azureGroup([`    managedIdentities: [${MI2}, ${MI}]`]));
    assert.equal(ab.templateHash, ba.templateHash);
    assert.notEqual(ab.templateHash, one.templateHash);
    assert.notEqual(one.templateHash, loaded(azureGroup([])).templateHash);
  });

  it('Azure: refuses a malformed identity id and one identity listed twice in two spellings, each at its line', () => {
    const bad = problems(
      azureGroup(['    managedIdentities:', '      - /subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm']),
    );
    assert.equal(bad.length, 1, bad.join('\n'));
    assert.match(
      bad[0]!,
      /^group\.yaml:12:\d+: invalid value "\/subscriptions\/x\/.* for 'spec\.placement\.managedIdentities\[0\]': a user-assigned managed identity's resource id/,
    );
    const twice = problems(azureGroup(['    managedIdentities:', `      - ${MI}`, `      - ${MI.toLowerCase()}`]));
    assert.equal(twice.length, 1, twice.join('\n'));
    assert.match(twice[0]!, /^group\.yaml:13:\d+: managed identity 1 is identity 0 again \(Azure resource ids ignore case\)/);
  });

  it('Azure identities are refused on GCE', () => {
    const found = problems(gcpGroup([`    managedIdentities: [${MI}]`]));
    assert.match(found.join('\n'), /'spec\.placement\.managedIdentities' does not apply to gcp providers \(only azure\)/);
  });
});
