/**
 * Identity at launch on GCE: the group's service account and scopes reach instances.insert as
 * `serviceAccounts`, the simulator records them and renders them back to a real
 * @google-cloud/compute client; an account drover may not act as is refused as GCE does; userData's
 * `${drover.…}` variables are filled per instance, nothing else of the text is touched.
 */
import assert from 'node:assert/strict';
import { InstancesClient } from '@google-cloud/compute';
import { PassThroughClient } from 'google-auth-library';
import type { GceSimulator } from '../../../providers/gcp/sim.ts';
import { ProviderError } from '../../../src/contract/errors.ts';
import { fromProviderError } from '../../../src/reconcile/errors.ts';
import { withIdentityHint } from '../../../src/reconcile/identity-hint.ts';
import { DIGEST, FLEET, PROJECT, providerFor, rejectionOf, request, startSim, TEMPLATE, visible, ZONE, type Provider } from './fixtures.ts';

const SA = 'web@acme-prod.iam.gserviceaccount.com';
const SCOPES: [string, ...string[]] = [
  'https://www.googleapis.com/auth/devstorage.read_only',
  'https://www.googleapis.com/auth/logging.write',
];
const USER_DATA = [
  '#cloud-config',
  'write_files:',
  '  - path: /etc/drover/instance',
  '    content: "${drover.fleet} ${drover.group} ${drover.slot} ${drover.zone} ${drover.revision} ${drover.imageDigest} ${drover.templateHash} ${drover.name}"',
  'runcmd:',
  '  - echo ${HOME} ${env.HOME} $${drover.group}',
  '',
].join('\n');

function metadataOf(sim: GceSimulator, name: string): Record<string, string> {
  const vm = visible(sim).find((i) => i.name === name);
  assert.ok(vm, `${name} is in the simulator`);
  return Object.fromEntries((vm.attributes['metadata'] as { key: string; value: string }[]).map((i) => [i.key, i.value]));
}

describe('GCE identity at launch (real @google-cloud/compute client against the simulator)', () => {
  let sim: GceSimulator;
  let provider: Provider;

  beforeEach(async () => {
    sim = await startSim({ serviceAccounts: [SA] });
    provider = await providerFor(sim);
  });
  afterEach(async () => {
    await provider.close();
    await sim.close();
  });

  it('sends the service account and its scopes; the instance carries them, as a GET shows', async () => {
    const template = { ...TEMPLATE, placement: { ...TEMPLATE.placement, serviceAccount: SA, scopes: SCOPES } };
    const created = await provider.create(request('web', 0, { template }));
    const [vm] = visible(sim);
    assert.deepEqual(vm?.attributes['serviceAccounts'], [{ email: SA, scopes: SCOPES }]);
    const client = new InstancesClient({
      apiEndpoint: '127.0.0.1',
      port: Number(new URL(sim.url).port),
      protocol: 'http',
      authClient: new PassThroughClient(),
      fallback: true,
    } as ConstructorParameters<typeof InstancesClient>[0]);
    try {
      const [got] = await client.get({ project: PROJECT, zone: ZONE, instance: created.name });
      assert.deepEqual(
        got.serviceAccounts?.map((a) => ({ email: a.email, scopes: a.scopes })),
        [{ email: SA, scopes: SCOPES }],
      );
    } finally {
      await client.close();
    }
  });

  it('without a service account, none is attached', async () => {
    await provider.create(request('web', 0));
    assert.deepEqual(visible(sim)[0]?.attributes['serviceAccounts'], []);
  });

  it('an account drover may not act as (no iam.serviceAccountUser) is refused Invalid, and nothing is launched', async () => {
    const template = { ...TEMPLATE, placement: { ...TEMPLATE.placement, serviceAccount: 'admin@acme-prod.iam.gserviceaccount.com' } };
    const error = await rejectionOf(provider.create(request('web', 0, { template })));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.kind, 'Invalid');
    assert.equal(error.reason, 'invalid', "GCE's 400 invalid on resource.serviceAccounts[0].email, never retried");
    assert.equal(visible(sim).length, 0);
    // What status and the log show (attack24 F7): the field, the account and the permission to grant.
    const shown = withIdentityHint(fromProviderError(error, 'create web-0'), template);
    for (const part of [
      'spec.placement.serviceAccount',
      'admin@acme-prod.iam.gserviceaccount.com',
      'iam.serviceAccounts.actAs',
      'roles/iam.serviceAccountUser',
    ])
      assert.ok(shown.message.includes(part), `${part} in ${shown.message}`);
  });

  it('fills userData variables per instance from its own record; shell and escapes are left as written', async () => {
    const template = { ...TEMPLATE, userData: USER_DATA };
    const a = request('web', 0, { template, revision: 'c0ffee1' });
    const b = request('web', 1, { template, revision: 'c0ffee1' });
    await provider.create(a);
    await provider.create(b);
    for (const [r, slot] of [
      [a, 0],
      [b, 1],
    ] as const) {
      const userData = metadataOf(sim, r.name)['user-data'];
      assert.equal(
        userData,
        USER_DATA.replace(
          '${drover.fleet} ${drover.group} ${drover.slot} ${drover.zone} ${drover.revision} ${drover.imageDigest} ${drover.templateHash} ${drover.name}',
          `${FLEET} web ${slot} ${ZONE} c0ffee1 ${DIGEST} ${r.owner.templateHash} ${r.name}`,
        ).replace('$${drover.group}', '${drover.group}'),
      );
      assert.ok(!userData?.includes(process.env['HOME'] ?? '\0'), 'nothing of the daemon environment');
    }
  });

  it('a userData reference drover cannot fill is refused Invalid before any call', async () => {
    const template = { ...TEMPLATE, userData: '#cloud-config\nhostname: ${drover.hostname}\n' };
    const error = await rejectionOf(provider.create(request('web', 0, { template })));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.reason, 'UnknownUserDataVariable');
    assert.equal(visible(sim).length, 0);
  });
});
