import assert from 'node:assert/strict';
import {
  DescribeInstancesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { startEc2Simulator, type Ec2Simulator } from '../../../providers/aws/sim.ts';
import { VirtualClock } from '../../../src/sim/clock.ts';

const AMI = 'ami-0123456789abcdef0';

function run(token: string, extra: Partial<RunInstancesCommandInput> = {}): RunInstancesCommand {
  return new RunInstancesCommand({ ImageId: AMI, InstanceType: 't3.small', MinCount: 1, MaxCount: 1, ClientToken: token, ...extra });
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as Error).name;
  }
  return 'ok';
}

describe('EC2 simulator fidelity (virtual clock)', () => {
  let clock: VirtualClock;
  let sim: Ec2Simulator;
  let ec2: EC2Client;

  beforeEach(async () => {
    clock = new VirtualClock();
    sim = await startEc2Simulator({ clock, images: [{ id: AMI }] });
    ec2 = new EC2Client({ endpoint: sim.url, region: sim.region, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
  });
  afterEach(async () => {
    ec2.destroy();
    await sim.close();
  });

  it('unfiltered, unpaginated DescribeInstances has its own smaller bucket (50, 10/s)', async () => {
    const unbounded = () => ec2.send(new DescribeInstancesCommand({}));
    for (let i = 0; i < 50; i++) assert.equal(await code(unbounded()), 'ok');
    assert.equal(await code(unbounded()), 'RequestLimitExceeded');
    assert.equal(await code(ec2.send(new DescribeInstancesCommand({ MaxResults: 5 }))), 'ok', 'paginated calls use the 100/20 bucket');
    clock.advance(100);
    assert.equal(await code(unbounded()), 'ok', 'one token back after 100 ms');
    assert.equal(await code(unbounded()), 'RequestLimitExceeded');
  });

  it('the resource bucket counts instances: MaxCount beyond 1,000 launched at once is refused', async () => {
    assert.equal(await code(ec2.send(run('big-1', { MinCount: 1, MaxCount: 600 }))), 'ok');
    assert.equal(await code(ec2.send(run('big-2', { MinCount: 1, MaxCount: 600 }))), 'RequestLimitExceeded');
    clock.advance(100_000); // 2 instances per second: 200 more
    assert.equal(await code(ec2.send(run('big-2', { MinCount: 1, MaxCount: 600 }))), 'ok');
    assert.equal(sim.world.all().length, 1200);
  });

  it('eventual consistency: a new instance is missing from filters and id lookups until the lag passes', async () => {
    sim.world.setLatencies({ listLagMs: 2_000 });
    const id = (await ec2.send(run('lag-1'))).Instances?.[0]?.InstanceId ?? '';
    assert.equal(await code(ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))), 'InvalidInstanceID.NotFound');
    assert.equal(await code(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }))), 'InvalidInstanceID.NotFound');
    assert.equal((await ec2.send(new DescribeInstancesCommand({ MaxResults: 5 }))).Reservations?.length, 0);
    assert.equal((await ec2.send(run('lag-1'))).Instances?.[0]?.InstanceId, id, 'the token still finds it');
    clock.advance(2_000);
    assert.equal((await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations?.length, 1);
  });

  it('old token mode keeps answering with the dead instance after it vanished from Describe', async () => {
    sim.settings.tokenMode = 'return-terminated';
    sim.world.setLatencies({ terminateMs: 1_000, terminatedRetentionMs: 60_000 });
    const id = (await ec2.send(run('old-1'))).Instances?.[0]?.InstanceId ?? '';
    await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    clock.advance(3_600_000);
    assert.equal(sim.world.get(id), undefined);
    const again = (await ec2.send(run('old-1'))).Instances?.[0];
    assert.deepEqual([again?.InstanceId, again?.State?.Name], [id, 'terminated']);
    sim.settings.tokenMode = 'terminated-error';
    assert.equal(await code(ec2.send(run('old-1'))), 'IdempotentInstanceTerminated');
    assert.equal(sim.world.all().length, 0);
  });

  it('refuses what EC2 refuses: reserved tag keys, tag limit, bad counts, long tokens, bad disks, groups, subnets, user data', async () => {
    sim.throttler.enabled = false; // time does not move: the RunInstances bucket would refuse after 5
    const cases: [RunInstancesCommand, string][] = [
      [
        run('v-1', { TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'aws:owner', Value: 'x' }] }] }),
        'InvalidParameterValue',
      ],
      [
        run('v-2', {
          TagSpecifications: [{ ResourceType: 'instance', Tags: Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) }],
        }),
        'TagLimitExceeded',
      ],
      [run('v-3', { MinCount: 3, MaxCount: 2 }), 'InvalidParameterValue'],
      [run('x'.repeat(65)), 'InvalidParameterValue'],
      [
        run('v-4', { BlockDeviceMappings: [{ DeviceName: '/dev/sdf', Ebs: { VolumeSize: 20, VolumeType: 'magnetic-tape' as never } }] }),
        'InvalidParameterValue',
      ],
      [run('v-5', { SecurityGroupIds: ['default'] }), 'InvalidGroupId.Malformed'],
      [run('v-6', { SubnetId: 'net-1' }), 'InvalidSubnetID.Malformed'],
      [run('v-7', { UserData: Buffer.alloc(16_385).toString('base64') }), 'InvalidParameterValue'],
      [run('v-8', { ImageId: undefined }), 'MissingParameter'],
      [run('v-9', { InstanceType: 't3.smal' as never }), 'InvalidParameterValue'],
    ];
    for (const [command, expected] of cases) assert.equal(await code(ec2.send(command)), expected, expected);
    assert.equal(sim.world.all().length, 0);
    assert.equal(sim.engine.calls.list('RunInstances').length, cases.length);
  });

  it('strict subnets: unknown subnets are refused and a subnet fixes the zone', async () => {
    await sim.close();
    sim = await startEc2Simulator({ clock, images: [{ id: AMI }], subnets: { 'subnet-0b': 'us-east-1b' } });
    ec2.destroy();
    ec2 = new EC2Client({ endpoint: sim.url, region: sim.region, credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
    assert.equal(await code(ec2.send(run('s-1', { SubnetId: 'subnet-0c' }))), 'InvalidSubnetID.NotFound');
    assert.equal(
      await code(ec2.send(run('s-2', { SubnetId: 'subnet-0b', Placement: { AvailabilityZone: 'us-east-1a' } }))),
      'InvalidParameterValue',
    );
    const ok = await ec2.send(run('s-3', { SubnetId: 'subnet-0b' }));
    assert.equal(ok.Instances?.[0]?.Placement?.AvailabilityZone, 'us-east-1b');
    assert.equal((await ec2.send(new DescribeSubnetsCommand({}))).Subnets?.[0]?.AvailabilityZone, 'us-east-1b');
    assert.equal(await code(ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-0c'] }))), 'InvalidSubnetID.NotFound');
  });

  it('subnets are zonal without configuration too: a subnet keeps the zone of its first launch, another zone is refused; DescribeSubnets tells the zone', async () => {
    assert.equal(await code(ec2.send(run('l-1', { SubnetId: 'subnet-0a', Placement: { AvailabilityZone: 'us-east-1a' } }))), 'ok');
    const refused = await ec2
      .send(run('l-2', { SubnetId: 'subnet-0a', Placement: { AvailabilityZone: 'us-east-1b' } }))
      .catch((e: Error) => e);
    assert.equal((refused as Error).name, 'InvalidParameterValue');
    assert.match((refused as Error).message, /Subnet 'subnet-0a' is in the availability zone us-east-1a/);
    assert.equal(sim.engine.world.all().length, 1, 'nothing launched by the refused call');
    const described = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-0a'] }));
    assert.deepEqual(
      described.Subnets?.map((s) => [s.SubnetId, s.AvailabilityZone]),
      [['subnet-0a', 'us-east-1a']],
    );
    assert.equal(await code(ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-0f'] }))), 'InvalidSubnetID.NotFound');
  });

  it('a full zone answers InsufficientInstanceCapacity (500) while others still launch', async () => {
    sim.settings.zoneCapacity = { 'us-east-1a': 1 };
    assert.equal(await code(ec2.send(run('z-1', { Placement: { AvailabilityZone: 'us-east-1a' } }))), 'ok');
    assert.equal(await code(ec2.send(run('z-2', { Placement: { AvailabilityZone: 'us-east-1a' } }))), 'InsufficientInstanceCapacity');
    assert.equal(await code(ec2.send(run('z-3', { Placement: { AvailabilityZone: 'us-east-1b' } }))), 'ok');
    assert.equal(sim.engine.calls.list('RunInstances')[1]?.status, 500);
  });
});
