/**
 * Identity at launch on EC2: the group's instance profile reaches RunInstances and the instance
 * (read back with a real @aws-sdk/client-ec2 DescribeInstances);
 * userData's `${drover.…}` variables are filled per instance, and a wave whose userData differs per
 * slot is launched one RunInstances per instance while a wave with one text still shares one call.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { Ec2Simulator } from '../../../providers/aws/sim.ts';
import type { CreateRequest, ObservedInstance, Provider } from '../../../src/contract/provider.ts';
import { fromProviderError } from '../../../src/reconcile/errors.ts';
import { withIdentityHint } from '../../../src/reconcile/identity-hint.ts';
import { DIGEST, FLEET, liveIn, providerFor, REGION, rejectionOf, request, startSim, TEMPLATE } from './fixtures.ts';

const PER_INSTANCE =
  '#!/bin/sh\necho ${drover.group} ${drover.slot} ${drover.zone} ${drover.imageDigest} ${drover.name} > /etc/drover\necho ${HOME} $${drover.slot}\n';
const SHARED = '#!/bin/sh\necho ${drover.fleet} ${drover.group} ${drover.revision} ${drover.templateHash}\n';

function fulfilled(outcomes: readonly PromiseSettledResult<ObservedInstance>[]): ObservedInstance[] {
  return outcomes.map((o) => {
    if (o.status === 'rejected') throw o.reason;
    return o.value;
  });
}

function wave(slots: readonly number[], userData: string): CreateRequest[] {
  return slots.map((slot) => request('web', slot, { template: { ...TEMPLATE, userData } }));
}

describe('EC2 identity and userData at launch (real @aws-sdk/client-ec2 against the simulator)', () => {
  let sim: Ec2Simulator;
  let stateDir: string;
  let provider: Provider;
  let ec2: EC2Client;

  beforeEach(async () => {
    sim = await startSim();
    stateDir = mkdtempSync(path.join(tmpdir(), 'drover-identity-'));
    provider = await providerFor(sim, {}, FLEET, stateDir);
    await provider.list({ fleet: FLEET });
    ec2 = new EC2Client({ region: REGION, endpoint: sim.url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  });
  afterEach(async () => {
    ec2.destroy();
    await provider.close();
    await sim.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  /** What the instance got, from the simulator's record of its launch (as DescribeInstanceAttribute would show it). */
  function userDataOf(id: string): string {
    const vm = liveIn(sim).find((i) => i.id === id);
    assert.ok(vm, `${id} is live in the simulator`);
    return Buffer.from(String(vm.attributes['userData']), 'base64').toString('utf8');
  }

  it('launches with the instance profile; the instance carries it', async () => {
    const created = await provider.create(request('web', 0));
    const answer = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [created.id] }));
    assert.match(answer.Reservations?.[0]?.Instances?.[0]?.IamInstanceProfile?.Arn ?? '', /:instance-profile\/web$/);
  });

  it('a profile drover may not pass (no iam:PassRole on its role) is refused Unauthorized, and nothing is launched', async () => {
    sim.settings.instanceProfiles = ['web'];
    const template = { ...TEMPLATE, placement: { ...TEMPLATE.placement, instanceProfile: 'admin' } };
    const error = await rejectionOf(provider.create(request('web', 0, { template })));
    assert.equal(error.kind, 'Unauthorized');
    assert.equal(error.reason, 'UnauthorizedOperation');
    assert.equal(liveIn(sim).length, 0);
    // What status and the log show (attack24 F7): the field, the profile and the permission to grant.
    const shown = withIdentityHint(fromProviderError(error, 'create web-0'), template);
    for (const part of ['spec.placement.instanceProfile', 'admin', 'iam:PassRole'])
      assert.ok(shown.message.includes(part), `${part} in ${shown.message}`);
    await provider.create(request('web', 1));
    assert.equal(liveIn(sim).length, 1, "the profile it may pass ('web') launches");
  });

  it('fills per-instance variables: each instance of a wave gets its own text, one RunInstances each', async () => {
    const created = fulfilled(await provider.createBatch!(wave([4, 5], PER_INSTANCE)));
    assert.equal(sim.engine.calls.counts()['RunInstances'], 2, 'per-slot userData cannot share one RunInstances');
    assert.equal(liveIn(sim).length, 2);
    for (const instance of created) {
      assert.equal(
        userDataOf(instance.id),
        `#!/bin/sh\necho web ${instance.slot} ${REGION}a ${DIGEST} ${instance.name} > /etc/drover\necho \${HOME} \${drover.slot}\n`,
      );
    }
  });

  it('a wave whose filled text is one for every slot still shares one RunInstances', async () => {
    const created = fulfilled(await provider.createBatch!(wave([1, 2, 3], SHARED)));
    assert.equal(sim.engine.calls.counts()['RunInstances'], 1);
    for (const instance of created) assert.equal(userDataOf(instance.id), `#!/bin/sh\necho ${FLEET} web rev1 a1b2c3d4e5f6\n`);
  });
});
