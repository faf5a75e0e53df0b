import assert from 'node:assert/strict';
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { VirtualClock } from '../../../src/sim/clock.ts';
import { startEc2Simulator, type Ec2Simulator } from '../../../providers/aws/sim.ts';

const AMI = 'ami-0123456789abcdef0';

function client(sim: Ec2Simulator, accessKeyId = 'AKIDSIM'): EC2Client {
  return new EC2Client({
    endpoint: sim.url,
    region: sim.region,
    credentials: { accessKeyId, secretAccessKey: 'not-a-secret' },
    maxAttempts: 1,
  });
}

function run(token: string, extra: Partial<RunInstancesCommandInput> = {}): RunInstancesCommand {
  return new RunInstancesCommand({
    ImageId: AMI,
    InstanceType: 't3.small',
    MinCount: 1,
    MaxCount: 1,
    ClientToken: token,
    Placement: { AvailabilityZone: 'eu-west-1b' },
    SubnetId: 'subnet-0abc',
    SecurityGroupIds: ['sg-01', 'sg-02'],
    IamInstanceProfile: { Name: 'web' },
    UserData: Buffer.from('#cloud-config\n').toString('base64'),
    BlockDeviceMappings: [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 20, VolumeType: 'gp3', DeleteOnTermination: true } }],
    TagSpecifications: [
      {
        ResourceType: 'instance',
        Tags: [
          { Key: 'Name', Value: 'web-1' },
          { Key: 'fleet', Value: 'f1' },
        ],
      },
      { ResourceType: 'volume', Tags: [{ Key: 'fleet', Value: 'f1' }] },
    ],
    ...extra,
  });
}

async function errorOf(promise: Promise<unknown>): Promise<{ name: string; status: number | undefined }> {
  try {
    await promise;
  } catch (error) {
    const e = error as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error('expected a rejection');
}

describe('EC2 simulator with the real SDK', () => {
  let sim: Ec2Simulator;
  let ec2: EC2Client;

  beforeEach(async () => {
    sim = await startEc2Simulator({ region: 'eu-west-1', factor: 1000, images: [{ id: AMI, name: 'web', tags: { digest: 'sha256:ab' } }] });
    ec2 = client(sim);
  });
  afterEach(async () => {
    ec2.destroy();
    await sim.close();
  });

  it('launches with tags at launch and describes every field the SDK parses', async () => {
    const out = await ec2.send(run('tok-1'));
    const launched = out.Instances?.[0];
    assert.match(launched?.InstanceId ?? '', /^i-[0-9a-f]{17}$/);
    assert.equal(launched?.State?.Name, 'pending');
    assert.match(out.ReservationId ?? '', /^r-/);
    const described = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:fleet', Values: ['f1'] }], MaxResults: 5 }));
    const i = described.Reservations?.[0]?.Instances?.[0];
    assert.equal(i?.InstanceId, launched?.InstanceId);
    assert.equal(i?.ImageId, AMI);
    assert.equal(i?.InstanceType, 't3.small');
    assert.equal(i?.Placement?.AvailabilityZone, 'eu-west-1b');
    assert.equal(i?.SubnetId, 'subnet-0abc');
    assert.deepEqual(
      i?.SecurityGroups?.map((g) => g.GroupId),
      ['sg-01', 'sg-02'],
    );
    assert.equal(i?.ClientToken, 'tok-1');
    assert.ok(i?.LaunchTime instanceof Date);
    assert.match(
      i?.PrivateIpAddress ?? '',
      /^127\./,
      'simulated instances get loopback addresses (127.0.0.0/8), so no probe ever leaves the host',
    );
    assert.deepEqual(
      i?.Tags?.map((t) => [t.Key, t.Value]),
      [
        ['Name', 'web-1'],
        ['fleet', 'f1'],
      ],
    );
    assert.equal(i?.BlockDeviceMappings?.[0]?.DeviceName, '/dev/sdf');
    assert.match(i?.IamInstanceProfile?.Arn ?? '', /instance-profile\/web$/);
    const world = sim.world.all()[0];
    assert.equal(world?.attributes['userData'], Buffer.from('#cloud-config\n').toString('base64'));
    assert.deepEqual(world?.attributes['volumeTags'], { fleet: 'f1' });
  });

  it('ClientToken: same params → same instance; other params → IdempotentParameterMismatch', async () => {
    const a = await ec2.send(run('tok-2'));
    const b = await ec2.send(run('tok-2'));
    assert.equal(a.Instances?.[0]?.InstanceId, b.Instances?.[0]?.InstanceId);
    assert.equal(sim.world.all().length, 1);
    assert.deepEqual(await errorOf(ec2.send(run('tok-2', { InstanceType: 't3.large' }))), {
      name: 'IdempotentParameterMismatch',
      status: 400,
    });
  });

  it('ClientToken of a terminated instance: IdempotentInstanceTerminated, or the dead instance in the old mode', async () => {
    // An hour of shutdown (default 30 s = 30 ms of wall time at factor 1000, gone before the
    // third call on a busy machine): the instance is still shutting down when looked at.
    sim.world.setLatencies({ terminateMs: 3_600_000 });
    const a = await ec2.send(run('tok-3'));
    const id = a.Instances?.[0]?.InstanceId ?? '';
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    assert.deepEqual(await errorOf(ec2.send(run('tok-3'))), { name: 'IdempotentInstanceTerminated', status: 400 });
    sim.settings.tokenMode = 'return-terminated';
    const again = await ec2.send(run('tok-3'));
    assert.equal(again.Instances?.[0]?.InstanceId, id);
    assert.equal(again.Instances?.[0]?.State?.Name, 'shutting-down');
    assert.equal(sim.world.all().length, 1, 'never a new instance');
  });

  it('paginates with MaxResults/NextToken and filters by tag, tag-key, state, id and client-token', async () => {
    sim.world.setLatencies({ terminateMs: 3_600_000 }); // the terminated one is still shutting down when described by id
    for (let n = 0; n < 12; n++) {
      await ec2.send(
        run(`p-${n}`, { TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'fleet', Value: n % 2 ? 'odd' : 'even' }] }] }),
      );
    }
    const ids: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await ec2.send(
        new DescribeInstancesCommand({ Filters: [{ Name: 'tag:fleet', Values: ['even'] }], MaxResults: 5, NextToken: token }),
      );
      for (const r of page.Reservations ?? []) for (const i of r.Instances ?? []) ids.push(i.InstanceId ?? '');
      token = page.NextToken;
      pages += 1;
    } while (token !== undefined);
    assert.equal(pages, 2);
    assert.equal(new Set(ids).size, 6);
    const first = ids[0] ?? '';
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [first] }));
    const live = await ec2.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: 'instance-state-name', Values: ['pending', 'running'] },
          { Name: 'tag-key', Values: ['fleet'] },
        ],
      }),
    );
    assert.equal(live.Reservations?.length, 11);
    const byToken = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'client-token', Values: ['p-1'] }] }));
    assert.equal(byToken.Reservations?.[0]?.Instances?.[0]?.ClientToken, 'p-1');
    const byId = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [first] }));
    assert.equal(byId.Reservations?.[0]?.Instances?.[0]?.State?.Name, 'shutting-down');
    assert.deepEqual(await errorOf(ec2.send(new DescribeInstancesCommand({ NextToken: 'bogus', MaxResults: 5 }))), {
      name: 'InvalidParameterValue',
      status: 400,
    });
    assert.deepEqual(await errorOf(ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'colour', Values: ['x'] }] }))), {
      name: 'InvalidParameterValue',
      status: 400,
    });
  });

  it('keeps terminated instances visible for a while, then forgets them', async () => {
    sim.world.setLatencies({ bootMs: 3_600_000, terminateMs: 1000, terminatedRetentionMs: 1_000_000 });
    const id = (await ec2.send(run('t-1'))).Instances?.[0]?.InstanceId ?? '';
    const term = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    assert.equal(term.TerminatingInstances?.[0]?.CurrentState?.Name, 'shutting-down');
    assert.equal(term.TerminatingInstances?.[0]?.PreviousState?.Name, 'pending');
    await new Promise((r) => setTimeout(r, 10));
    const seen = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    assert.equal(seen.Reservations?.[0]?.Instances?.[0]?.State?.Name, 'terminated');
    await new Promise((r) => setTimeout(r, 1010));
    assert.deepEqual(await errorOf(ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))), {
      name: 'InvalidInstanceID.NotFound',
      status: 400,
    });
    assert.deepEqual(await errorOf(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }))), {
      name: 'InvalidInstanceID.NotFound',
      status: 400,
    });
  });

  it('answers with EC2 error codes', async () => {
    const cases: [Promise<unknown>, string, number][] = [
      [ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-nope'] })), 'InvalidInstanceID.Malformed', 400],
      [ec2.send(new TerminateInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })), 'InvalidInstanceID.NotFound', 400],
      [ec2.send(run('e-1', { ImageId: 'ami-0fffffffffffffff0' })), 'InvalidAMIID.NotFound', 400],
      [ec2.send(run('e-2', { ImageId: 'ubuntu' })), 'InvalidAMIID.Malformed', 400],
      [ec2.send(run('e-3', { Placement: { AvailabilityZone: 'mars-1a' } })), 'InvalidParameterValue', 400],
      [ec2.send(run('e-4', { UserData: 'not base64!' })), 'InvalidParameterValue', 400],
      [ec2.send(run('e-5', { DryRun: true })), 'DryRunOperation', 412],
      [ec2.send(new DescribeImagesCommand({ ImageIds: ['ami-0fffffffffffffff0'] })), 'InvalidAMIID.NotFound', 400],
      [client(sim, '').send(new DescribeInstancesCommand({})), 'AuthFailure', 401],
    ];
    for (const [promise, name, status] of cases) assert.deepEqual(await errorOf(promise), { name, status }, name);
    sim.settings.instanceLimit = 0;
    assert.deepEqual(await errorOf(ec2.send(run('e-6'))), { name: 'InstanceLimitExceeded', status: 400 });
    sim.faults.add({ kind: 'error', code: 'InsufficientInstanceCapacity', actions: ['RunInstances'], count: 1 });
    sim.settings.instanceLimit = undefined;
    assert.deepEqual(await errorOf(ec2.send(run('e-7'))), { name: 'InsufficientInstanceCapacity', status: 500 });
    assert.equal(sim.world.all().length, 0);
  });

  it('throttles RunInstances at 5 burst with RequestLimitExceeded (503)', async () => {
    await sim.close();
    sim = await startEc2Simulator({ clock: new VirtualClock(), images: [{ id: AMI }] });
    ec2 = client(sim);
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, n) => ec2.send(run(`b-${n}`, { Placement: undefined }))));
    const refused = results
      .filter((r) => r.status === 'rejected')
      .map((r) => r.reason as { name: string; $metadata: { httpStatusCode: number } });
    assert.equal(refused.length, 3);
    assert.ok(refused.every((e) => e.name === 'RequestLimitExceeded' && e.$metadata.httpStatusCode === 503));
    assert.equal(sim.world.all().length, 8 - refused.length);
  });

  it('describes images with tags, and CreateTags changes tags', async () => {
    const images = await ec2.send(new DescribeImagesCommand({ ImageIds: [AMI] }));
    assert.equal(images.Images?.[0]?.State, 'available');
    assert.deepEqual(images.Images?.[0]?.Tags, [{ Key: 'digest', Value: 'sha256:ab' }]);
    const id = (await ec2.send(run('c-1'))).Instances?.[0]?.InstanceId ?? '';
    await ec2.send(new CreateTagsCommand({ Resources: [id], Tags: [{ Key: 'owner', Value: 'ops' }] }));
    assert.equal(sim.world.get(id)?.tags['owner'], 'ops');
    assert.equal(sim.world.events().at(-1)?.kind, 'tags');
  });

  it('speaks the raw wire: error XML shape, Version required, unknown actions and parameters refused', async () => {
    const auth = {
      authorization: 'AWS4-HMAC-SHA256 Credential=AKIDRAW/20260101/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=00',
    };
    const post = (body: string) =>
      fetch(`${sim.url}/`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body });
    const noVersion = await post('Action=DescribeInstances');
    assert.equal(noVersion.status, 400);
    assert.match(
      await noVersion.text(),
      /^<\?xml[^>]*>\n<Response><Errors><Error><Code>MissingParameter<\/Code><Message>[^<]+<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/,
    );
    assert.match(await (await post('Action=Reboot&Version=2016-11-15')).text(), /<Code>InvalidAction<\/Code>/);
    assert.match(await (await post('Action=DescribeInstances&Version=2016-11-15&Colour=red')).text(), /<Code>UnknownParameter<\/Code>/);
    const ok = await post('Action=DescribeInstances&Version=2016-11-15');
    assert.match(
      await ok.text(),
      /^<\?xml[^>]*>\n<DescribeInstancesResponse xmlns="http:\/\/ec2.amazonaws.com\/doc\/2016-11-15\/"><requestId>[0-9a-f-]{36}<\/requestId><reservationSet\/>/,
    );
    const unsigned = await fetch(`${sim.url}/`, { method: 'POST', body: 'Action=DescribeInstances&Version=2016-11-15' });
    assert.equal(unsigned.status, 401);
  });

  it('reports how an instance ended (StateReason, StateTransitionReason)', async () => {
    const id = (await ec2.send(run('r-1'))).Instances?.[0]?.InstanceId ?? '';
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    const i = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.[0]?.Instances?.[0];
    assert.equal(i?.StateReason?.Code, 'Client.UserInitiatedShutdown');
    assert.match(i?.StateTransitionReason ?? '', /^User initiated \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\)$/);
  });
});
