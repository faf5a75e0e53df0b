/**
 * Identity at launch on Azure: the group's user-assigned managed identities reach the VM PUT as
 * `identity: { type: UserAssigned, userAssignedIdentities }`, the simulator records them and
 * renders them back to a real @azure/arm-compute client; an identity drover may not assign is
 * refused as ARM does (LinkedAuthorizationFailed); customData's `${drover.…}` variables are filled
 * per VM.
 */
import assert from 'node:assert/strict';
import type { AzureSimulator } from '../../../providers/azure/sim.ts';
import { ProviderError } from '../../../src/contract/errors.ts';
import type { Placement } from '../../../src/contract/fleet.ts';
import type { Provider } from '../../../src/contract/provider.ts';
import { fromProviderError } from '../../../src/reconcile/errors.ts';
import { withIdentityHint } from '../../../src/reconcile/identity-hint.ts';
import { clientsFor, DIGEST, FLEET, liveVms, providerFor, rejectionOf, request, RG, startSim, SUB, TEMPLATE } from './sim-fixtures.ts';

const READER = `/subscriptions/${SUB}/resourceGroups/identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web-reader`;
const LOGS = `/subscriptions/${SUB}/resourceGroups/identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/web-logs`;
const OTHER = `/subscriptions/${SUB}/resourceGroups/identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/admin`;

type Ids = NonNullable<Placement['managedIdentities']>;

describe('Azure identity at launch (real Azure clients against the ARM simulator)', () => {
  let sim: AzureSimulator;
  let provider: Provider;

  beforeEach(async () => {
    sim = await startSim({ managedIdentities: [READER, LOGS] });
    provider = await providerFor(sim);
  });
  afterEach(async () => {
    await provider.close();
    await sim.close();
  });

  it('attaches the user-assigned identities; the VM carries them, as a GET shows', async () => {
    const template = { ...TEMPLATE, placement: { ...TEMPLATE.placement, managedIdentities: [LOGS, READER] as Ids } };
    const created = await provider.create(request('web', 0, { template }));
    const [vm] = liveVms(sim);
    assert.deepEqual(vm?.attributes['identity'], { type: 'UserAssigned', userAssignedIdentities: [LOGS, READER] });
    const { compute } = clientsFor(sim);
    const got = await compute.virtualMachines.get(RG, created.name);
    assert.equal(got.identity?.type, 'UserAssigned');
    assert.deepEqual(Object.keys(got.identity?.userAssignedIdentities ?? {}).sort(), [LOGS, READER].sort());
    assert.match(got.identity?.userAssignedIdentities?.[READER]?.clientId ?? '', /^[0-9a-f-]{36}$/);
  });

  it('without identities, the VM has no identity block', async () => {
    const created = await provider.create(request('web', 0));
    assert.equal(liveVms(sim)[0]?.attributes['identity'], undefined);
    const got = await clientsFor(sim).compute.virtualMachines.get(RG, created.name);
    assert.equal(got.identity, undefined);
  });

  it('an identity drover may not assign (no Managed Identity Operator) is refused, and no VM runs', async () => {
    const template = { ...TEMPLATE, placement: { ...TEMPLATE.placement, managedIdentities: [OTHER] as Ids } };
    const error = await rejectionOf(provider.create(request('web', 0, { template })));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.kind, 'Unauthorized');
    assert.equal(error.reason, 'LinkedAuthorizationFailed');
    assert.equal(liveVms(sim).length, 0);
    // What status and the log show (attack24 F7): the field, the identity and the role to grant.
    const shown = withIdentityHint(fromProviderError(error, 'create web-0'), template);
    assert.equal(shown.reason, 'LinkedAuthorizationFailed');
    for (const part of ['spec.placement.managedIdentities', OTHER, 'Managed Identity Operator'])
      assert.ok(shown.message.includes(part), `${part} in ${shown.message}`);
  });

  it('a customData reference drover cannot fill is refused before any call: no VM, no NIC', async () => {
    const template = { ...TEMPLATE, userData: '#cloud-config\nhostname: ${drover.host}\n' };
    const error = await rejectionOf(provider.create(request('web', 0, { template })));
    assert.ok(error instanceof ProviderError);
    assert.equal(error.reason, 'UnknownUserDataVariable');
    assert.equal(liveVms(sim).length, 0);
    assert.deepEqual(sim.nics(), []);
  });

  it('fills customData variables per VM from its own record only', async () => {
    const template = {
      ...TEMPLATE,
      userData:
        '#cloud-config\nhostname: ${drover.name}\nruncmd: [echo ${drover.fleet}/${drover.group}/${drover.slot}/${drover.zone}/${drover.imageDigest} ${HOME}]\n',
    };
    const a = request('web', 0, { template });
    const b = request('web', 1, { template, zone: '2' });
    await provider.create(a);
    await provider.create(b);
    for (const [r, slot, zone] of [
      [a, 0, '1'],
      [b, 1, '2'],
    ] as const) {
      const vm = liveVms(sim).find((v) => v.name === r.name);
      const customData = Buffer.from(String(vm?.attributes['customData']), 'base64').toString('utf8');
      assert.equal(customData, `#cloud-config\nhostname: ${r.name}\nruncmd: [echo ${FLEET}/web/${slot}/${zone}/${DIGEST} \${HOME}]\n`);
    }
  });
});
